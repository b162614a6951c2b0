// SPDX-License-Identifier: GPL-3.0-or-later
/* A position's attributes are its own: copied out of the body they came
 * in, so that a shared position never holds a node of a parsed document
 * (json-glib's nodes are not safe to share between threads, and a parsed
 * body can be large). */

#include "config.h"

#include "wb-telemetry-private.h"

JsonNode *
_wb_position_attributes_copy_node (JsonNode *node)
{
  JsonNode *copy;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      copy = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (copy, json_object_new ());
      _wb_position_attributes_merge (json_node_get_object (copy), json_node_get_object (node));
      return copy;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length = json_array_get_length (array);
        JsonArray *copied = json_array_sized_new (length);

        for (guint i = 0; i < length; i++)
          json_array_add_element (copied, _wb_position_attributes_copy_node (json_array_get_element (array, i)));
        copy = json_node_new (JSON_NODE_ARRAY);
        json_node_take_array (copy, copied);
        return copy;
      }

    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
    default:
      return json_node_copy (node);
    }
}

void
_wb_position_attributes_merge (JsonObject *into,
                               JsonObject *from)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, from);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    json_object_set_member (into, name, _wb_position_attributes_copy_node (member));
}
