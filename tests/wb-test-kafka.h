// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <libsoup/soup.h>

#include "wb-kafka-dev.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"

G_BEGIN_DECLS

/* The largest message the tests' producer sends (message.max.bytes). */
#define WB_TEST_KAFKA_MAX_MESSAGE "16000000"

extern WbKafkaDev  *wb_test_kafka_dev;
extern rd_kafka_t  *wb_test_kafka_producer;
extern SoupSession *wb_test_kafka_session;

/* One test's world: topic prefix, group, database. */
typedef struct
{
  char   *prefix;       /* "t3." */
  char   *group;        /* KAFKA_GROUPID */
  char   *conninfo;
  PGconn *db;
  guint   partitions;
} World;

/* One record read back from a topic. */
typedef struct
{
  char       *key;
  char       *payload;
  GHashTable *headers;  /* name → value */
  int         partition;
  gint64      offset;
} Record;

void          wb_test_kafka_init     (guint               n_brokers);
void          wb_test_kafka_teardown (void);

World        *world_new              (guint               partitions);
void          world_free             (World              *w);
char         *world_topic            (World              *w,
                                      const char         *name);
void          create_topic           (World              *w,
                                      const char         *name);

void          sql_exec               (World              *w,
                                      const char         *sql);
char         *sql_text               (World              *w,
                                      const char         *sql);
gint64        sql_int                (World              *w,
                                      const char         *sql);
gint64        sql_wait               (World              *w,
                                      const char         *sql,
                                      gint64              want,
                                      guint               timeout_s);

guint         http_get               (WbTestDaemon       *d,
                                      const char         *path,
                                      char              **out_body);
void          wait_ready             (WbTestDaemon       *d);
WbTestDaemon *daemon_start           (World              *w,
                                      const char         *roles);
WbTestDaemon *daemon_start_with      (World              *w,
                                      const char         *roles,
                                      const char * const *extra_args);
double        metric                 (WbTestDaemon       *d,
                                      const char         *series);

void          produce                (World              *w,
                                      const char         *name,
                                      const char         *key,
                                      const char         *payload);
void          produce_bytes          (World              *w,
                                      const char         *name,
                                      const char         *key,
                                      const void         *payload,
                                      gsize               length);
void          produce_flush          (void);
void          record_free            (Record             *r);
GPtrArray    *read_topic             (World              *w,
                                      const char         *name,
                                      guint               want,
                                      guint               timeout_ms);
Record       *find_keyed_record      (GPtrArray          *records,
                                      const char         *key,
                                      const char         *needle);
Record       *find_record            (GPtrArray          *records,
                                      const char         *needle);
char         *run_kcat               (const char         *input,
                                      const char * const *argv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (World, world_free)

G_END_DECLS
