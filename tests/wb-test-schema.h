// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A JSON Schema (2020-12) validator for tests, for the subset Waybill's
 * schemas use: type (one or a list, null included), properties, required,
 * additionalProperties, items, minItems/maxItems, enum, const, $ref (inside a
 * document and to other documents of the set, by file name), oneOf/anyOf/
 * allOf, minimum/maximum and their exclusive forms, minLength/maxLength,
 * pattern, dependentRequired, format date-time (RFC 3339) and uuid. A schema
 * using any other assertion is refused, so that nothing passes unchecked. */
typedef struct _WbTestSchemaSet WbTestSchemaSet;

WbTestSchemaSet *wb_test_schema_set_new      (const char        *directory);
void             wb_test_schema_set_free     (WbTestSchemaSet   *self);
void             wb_test_schema_set_add      (WbTestSchemaSet   *self,
                                              const char        *name,
                                              JsonNode          *document);
/* Validates @instance against the schema at JSON pointer @pointer ("" for
 * the root) of the document named @name (added, or a file of the set's
 * directory). The error message starts with the JSON pointer of the first
 * violation in @instance ("/items/0/status: …"). */
gboolean         wb_test_schema_validate     (WbTestSchemaSet   *self,
                                              const char        *name,
                                              const char        *pointer,
                                              JsonNode          *instance,
                                              GError           **error);
JsonNode        *wb_test_schema_resolve      (WbTestSchemaSet   *self,
                                              const char        *name,
                                              const char        *pointer,
                                              GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTestSchemaSet, wb_test_schema_set_free)

G_END_DECLS
