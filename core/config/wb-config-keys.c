// SPDX-License-Identifier: GPL-3.0-or-later
/* Every configuration key of waybilld, in one table. A new key is one row
 * here and one commented line in data/waybilld.conf.sample; the keyfile,
 * environment, command line, --help and the startup log all follow. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "wb-config-private.h"

#define ENV(...)     ((const char * const []) { __VA_ARGS__, NULL })
#define CHOICES(...) ((const char * const []) { __VA_ARGS__, NULL })

const WbConfigKey wb_config_keys[] = {
  {
    .key = "server.address", .long_option = "listen-address",
    .type = WB_CONFIG_TYPE_ADDRESS, .default_value = "127.0.0.1",
    .description = N_("Address to listen on: an IP address, localhost, or * (also 0.0.0.0 or ::) for all"),
  },
  {
    .key = "server.port", .long_option = "port", .env = ENV ("SERVER_PORT"),
    .type = WB_CONFIG_TYPE_PORT, .default_value = "8080",
    .description = N_("HTTP port to listen on; 0 picks a free port"),
  },
  {
    .key = "server.max-body-size", .long_option = "max-body-size",
    .type = WB_CONFIG_TYPE_SIZE, .default_value = "1M", .min = 1, .max = G_MAXINT64,
    .description = N_("Largest request body accepted"),
  },
  {
    .key = "server.max-header-count", .long_option = "max-header-count",
    .type = WB_CONFIG_TYPE_INT, .default_value = "64", .min = 1, .max = 1000,
    .description = N_("Most request headers accepted"),
  },
  {
    .key = "server.max-header-size", .long_option = "max-header-size",
    .type = WB_CONFIG_TYPE_SIZE, .default_value = "16K", .min = 1, .max = G_MAXINT64,
    .description = N_("Largest total size of request header names and values"),
  },
  {
    .key = "server.idle-timeout", .long_option = "idle-timeout",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "60s",
    .description = N_("Close connections idle for this long"),
  },
  {
    /* The idle timeout alone lets a client trickle a byte at a time. */
    .key = "server.read-timeout", .long_option = "read-timeout",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "30s", .min = 1000, .max = 3600 * 1000,
    .description = N_("Close a connection whose request (headers and body) is not read within this long"),
  },
  {
    .key = "server.max-connections", .long_option = "max-connections",
    .type = WB_CONFIG_TYPE_INT, .default_value = "1024", .min = 1, .max = 100000,
    .description = N_("Most client connections open at once"),
  },
  {
    .key = "server.max-connections-per-peer", .long_option = "max-connections-per-peer",
    .type = WB_CONFIG_TYPE_INT, .default_value = "64", .min = 1, .max = 100000,
    .description = N_("Most connections open at once from one client address"),
  },
  {
    .key = "server.shutdown-timeout", .long_option = "shutdown-timeout",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "10s",
    .description = N_("How long to let requests finish on shutdown"),
  },
  {
    .key = "database.dsn", .long_option = "db-dsn", .env = ENV ("DB_DSN"),
    .type = WB_CONFIG_TYPE_DSN, .default_value = "",
    .description = N_("PostgreSQL connection string or URI; empty runs an embedded cluster"),
  },
  {
    .key = "database.pool-size", .long_option = "db-pool-size",
    .type = WB_CONFIG_TYPE_INT, .default_value = "4", .min = 1, .max = 64,
    .description = N_("Database connections per daemon"),
  },
  {
    .key = "daemon.state-dir", .long_option = "state-dir",
    .type = WB_CONFIG_TYPE_PATH, .default_value = "",
    .description = N_("State directory; empty means $XDG_STATE_HOME/waybill, or /var/lib/waybill as root"),
  },
  {
    .key = "daemon.roles", .long_option = "roles",
    .type = WB_CONFIG_TYPE_CHOICE_LIST, .default_value = "all",
    .choices = CHOICES ("all", "api", "ingest", "fleet", "tracker", "scheduler",
                        "carrier-worker", "gateway", "dispatch"),
    .description = N_("Comma-separated pipelines to run; all is every one this build has, and one it lacks is refused"),
  },
  {
    .key = "kafka.brokers", .long_option = "kafka-brokers",
    .env = ENV ("KAFKA_BROKERS", "REDPANDA_BROKERS"),
    .type = WB_CONFIG_TYPE_BROKERS, .default_value = "",
    .description = N_("Comma-separated Kafka host:port list; empty keeps the bus in-process"),
  },
  {
    .key = "kafka.group-id", .long_option = "kafka-group-id", .env = ENV ("KAFKA_GROUPID"),
    .type = WB_CONFIG_TYPE_STRING, .default_value = "waybill", .min = 1,
    .description = N_("Kafka consumer group"),
  },
  {
    .key = "kafka.timeout", .long_option = "kafka-timeout", .env = ENV ("KAFKA_TIMEOUT"),
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "10s", .bare_unit_ms = 1,
    .description = N_("Kafka request timeout; a bare number is milliseconds"),
  },
  {
    .key = "kafka.properties", .long_option = "kafka-properties",
    .type = WB_CONFIG_TYPE_STRING, .default_value = "",
    .description = N_("Comma-separated librdkafka name=value settings for every Kafka client (e.g. security.protocol=ssl)"),
  },
  {
    .key = "kafka.missing-topics", .long_option = "kafka-missing-topics",
    .type = WB_CONFIG_TYPE_ENUM, .default_value = "fail",
    .choices = CHOICES ("fail", "create"),
    .description = N_("A topic missing at start: refuse to start naming it, or create it"),
  },
  {
    .key = "kafka.topic-partitions", .long_option = "kafka-topic-partitions",
    .type = WB_CONFIG_TYPE_INT, .default_value = "6", .min = 1, .max = 10000,
    .description = N_("Partitions of the topics Waybill creates"),
  },
  {
    .key = "kafka.topic-prefix", .long_option = "kafka-topic-prefix",
    .type = WB_CONFIG_TYPE_STRING, .default_value = "",
    .description = N_("Put before every topic name on the brokers, e.g. prod."),
  },
  {
    .key = "kafka.topic-renames", .long_option = "kafka-topic-renames",
    .type = WB_CONFIG_TYPE_STRING, .default_value = "",
    .description = N_("Comma-separated name=kafka-name pairs for topics named otherwise on the brokers"),
  },
  {
    .key = "otlp.endpoint", .long_option = "otlp-endpoint", .env = ENV ("OTLP_ENDPOINT"),
    .type = WB_CONFIG_TYPE_URL, .default_value = "",
    .description = N_("OpenTelemetry collector http(s) URL; empty disables export"),
  },
  {
    .key = "otlp.export-interval", .long_option = "otlp-export-interval", .env = ENV ("OTLP_EXPORT_INTERVAL"),
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "60s", .min = 100, .max = 24 * 3600 * 1000,
    .description = N_("How often metrics are sent to the OpenTelemetry collector"),
  },
  {
    /* No option on purpose: a command line is visible to every user via ps. */
    .key = "auth.hs256-secret", .env = ENV ("AUTH_HS256SECRET"),
    .type = WB_CONFIG_TYPE_SECRET, .default_value = "",
    /* RFC 7518 §3.2: an HS256 key must be at least as long as the hash. */
    .min = 32,
    .description = N_("HS256 key for API tokens, at least 32 bytes"),
  },
  {
    .key = "log.format", .long_option = "log-format",
    .type = WB_CONFIG_TYPE_ENUM, .default_value = "auto",
    .choices = CHOICES ("auto", "text", "json", "journal"),
    .description = N_("Log output format"),
  },
  {
    .key = "log.level", .long_option = "log-level",
    .type = WB_CONFIG_TYPE_ENUM, .default_value = "info",
    .choices = CHOICES ("debug", "info", "message", "warning"),
    .description = N_("Least severe log level written"),
  },
  {
    .key = "bus.queue-size", .long_option = "bus-queue-size",
    .type = WB_CONFIG_TYPE_INT, .default_value = "4096", .min = 1, .max = 1000000,
    .description = N_("Messages a bus subscriber may have waiting"),
  },
  {
    .key = "fleet.osmand-port", .long_option = "osmand-port",
    .type = WB_CONFIG_TYPE_PORT, .default_value = "5055",
    .description = N_("Port of the OsmAnd / Traccar Client listener; 0 turns it off"),
  },
  {
    .key = "fleet.teltonika-port", .long_option = "teltonika-port",
    .type = WB_CONFIG_TYPE_PORT, .default_value = "5027",
    .description = N_("Port of the Teltonika Codec 8/8E TCP listener; 0 turns it off"),
  },
  {
    .key = "fleet.max-position-age", .long_option = "max-position-age",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "7d",
    .description = N_("Positions older than this are rejected; 0 accepts any age"),
  },
  {
    .key = "fleet.unknown-devices", .long_option = "unknown-devices",
    .type = WB_CONFIG_TYPE_ENUM, .default_value = "refuse",
    .choices = CHOICES ("refuse", "quarantine"),
    .description = N_("What to do with positions from devices not in the devices table"),
  },
  {
    .key = "fleet.batch-size", .long_option = "fleet-batch-size",
    .type = WB_CONFIG_TYPE_INT, .default_value = "2000", .min = 1, .max = 50000,
    .description = N_("Most positions written to history in one transaction"),
  },
  {
    .key = "fleet.batch-linger", .long_option = "fleet-batch-linger",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "20ms",
    .description = N_("How long a smaller batch of positions may wait for more before it is written"),
  },
  {
    .key = "fleet.offline-after", .long_option = "offline-after",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "10m",
    .description = N_("A device silent this long is offline (device.offline)"),
  },
  {
    .key = "fleet.history-retention", .long_option = "history-retention",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "90d",
    .description = N_("Position history older than this is dropped, a day at a time; 0 keeps it forever"),
  },
  {
    .key = "fleet.partitions-ahead", .long_option = "partitions-ahead",
    .type = WB_CONFIG_TYPE_INT, .default_value = "3", .min = 1, .max = 60,
    .description = N_("Days of position history partitions created ahead of time"),
  },
  {
    .key = "fleet.trip-min-distance", .long_option = "trip-min-distance",
    .type = WB_CONFIG_TYPE_INT, .default_value = "500", .min = 0, .max = 1000000,
    .description = N_("Shortest movement, in metres, that counts as a trip in tracks"),
  },
  {
    .key = "fleet.trip-min-duration", .long_option = "trip-min-duration",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "300s",
    .description = N_("Shortest movement that counts as a trip in tracks"),
  },
  {
    .key = "fleet.stop-min-duration", .long_option = "stop-min-duration",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "300s",
    .description = N_("Shortest standstill that counts as a stop (parking) in tracks"),
  },
  {
    .key = "gateway.batch-window", .long_option = "gateway-batch-window",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "50ms", .min = 10, .max = 10000,
    .description = N_("Live map updates to one client are sent at most once per this window, the newest state per vehicle"),
  },
  {
    .key = "gateway.replay-size", .long_option = "gateway-replay-size",
    .type = WB_CONFIG_TYPE_INT, .default_value = "100000", .min = 1, .max = 10000000,
    .description = N_("Most recent live map updates kept for clients that reconnect"),
  },
  {
    .key = "gateway.replay-age", .long_option = "gateway-replay-age",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "5m", .min = 1000, .max = 24 * 3600 * 1000,
    .description = N_("How long live map updates are kept for clients that reconnect"),
  },
  {
    .key = "gateway.max-connections", .long_option = "gateway-max-connections",
    .type = WB_CONFIG_TYPE_INT, .default_value = "10000", .min = 1, .max = 1000000,
    .description = N_("Most live map streams open at once"),
  },
  {
    .key = "gateway.max-connections-per-peer", .long_option = "gateway-max-connections-per-peer",
    .type = WB_CONFIG_TYPE_INT, .default_value = "100", .min = 1, .max = 1000000,
    .description = N_("Most live map streams open at once from one client address"),
  },
  {
    .key = "gateway.max-message-size", .long_option = "gateway-max-message-size",
    .type = WB_CONFIG_TYPE_SIZE, .default_value = "16K", .min = 256, .max = 1024 * 1024,
    .description = N_("Largest message a live map client may send, all its fragments together"),
  },
  {
    .key = "gateway.keepalive", .long_option = "gateway-keepalive",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "30s", .min = 1000, .max = 3600 * 1000,
    .description = N_("How often live map streams are pinged"),
  },
  {
    .key = "gateway.pong-timeout", .long_option = "gateway-pong-timeout",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "75s", .min = 1000, .max = 3600 * 1000,
    .description = N_("A live map client silent this long (no pong, no message) is closed"),
  },
  {
    .key = "gateway.outbox-bound", .long_option = "gateway-outbox-bound",
    .type = WB_CONFIG_TYPE_INT, .default_value = "5000", .min = 1, .max = 10000000,
    .description = N_("Vehicles with unsent updates a live map client may have before it counts as slow"),
  },
  {
    .key = "gateway.slow-deadline", .long_option = "gateway-slow-deadline",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "10s", .min = 100, .max = 3600 * 1000,
    .description = N_("A live map client over its bound this long is closed"),
  },
  {
    .key = "gateway.threads", .long_option = "gateway-threads", .env = ENV ("GATEWAY_THREADS"),
    .type = WB_CONFIG_TYPE_INT, .default_value = "0", .min = 0, .max = 64,
    .description = N_("Threads that serve the live map streams; 0: one per processor, at most 8"),
  },
  {
    .key = "shipments.phone-region", .long_option = "phone-region",
    .type = WB_CONFIG_TYPE_STRING, .default_value = "BY",
    .description = N_("ISO 3166-1 country whose national phone numbers shipment searches read (8 029 … in BY); empty: international numbers only"),
  },
  {
    .key = "shipments.overdue-check-interval", .long_option = "overdue-check-interval",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "30s", .min = 1000, .max = 24 * 3600 * 1000,
    .description = N_("How often the SLA job looks for shipments newly past their promise"),
  },
  {
    .key = "shipments.cache-revalidation", .long_option = "cache-revalidation",
    .type = WB_CONFIG_TYPE_ENUM, .default_value = "auto",
    .choices = CHOICES ("auto", "on", "off"),
    .description = N_("Check a cached shipment view's version in the database before serving it (needed when several daemons share the database); auto: on with Kafka"),
  },
  {
    .key = "polling.carriers-file", .long_option = "carriers-file",
    .type = WB_CONFIG_TYPE_STRING, .default_value = "",
    .description = N_("Keyfile of the carriers to poll, their drivers, credentials and limits; empty: the built-in data/carriers.conf"),
  },
  {
    .key = "polling.ladder-file", .long_option = "polling-ladder-file",
    .type = WB_CONFIG_TYPE_STRING, .default_value = "",
    .description = N_("Keyfile of the polling interval ladder; empty: the built-in data/polling.conf"),
  },
  {
    .key = "polling.profile", .long_option = "polling-profile",
    .type = WB_CONFIG_TYPE_ENUM, .default_value = "default",
    .choices = CHOICES ("default", "demo"),
    .description = N_("Profile of the polling ladder: default (hours), or demo (the same ladder in seconds)"),
  },
  {
    .key = "dispatch.stop-radius", .long_option = "stop-radius",
    .type = WB_CONFIG_TYPE_INT, .default_value = "150", .min = 5, .max = 10000,
    .description = N_("Distance, in metres, from a trip's stop within which its vehicle is at the stop"),
  },
  {
    .key = "dispatch.stop-dwell", .long_option = "stop-dwell",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "1m", .max = 24 * 3600 * 1000,
    .description = N_("How long a vehicle stays within the radius before it has arrived at the stop"),
  },
  {
    .key = "dispatch.auto-batch-interval", .long_option = "auto-batch-interval",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "0", .max = 24 * 3600 * 1000,
    .description = N_("How often ready shipments addressed to a pickup point are batched by point; 0 turns automatic batching off"),
  },
  {
    .key = "dispatch.auto-reassign-after", .long_option = "auto-reassign-after",
    .type = WB_CONFIG_TYPE_DURATION, .default_value = "0", .max = 24 * 3600 * 1000,
    .description = N_("Reassign the IN_TRANSIT trip of a vehicle silent this long to the nearest free vehicle of its company; 0 turns automatic reassignment off"),
  },
};

const guint wb_config_n_keys = G_N_ELEMENTS (wb_config_keys);
