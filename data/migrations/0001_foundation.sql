-- SPDX-License-Identifier: GPL-3.0-or-later
-- Foundation: the tables every later migration can rely on.
-- (schema_migrations itself is created by the migration runner, before any
-- numbered file runs, so that it can record this one.)

-- Runtime facts a daemon wants to share with its peers in a scale-out,
-- e.g. which instance last applied migrations and when.
CREATE TABLE waybill_instances (
  instance_id  text        PRIMARY KEY,
  hostname     text        NOT NULL,
  version      text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  seen_at      timestamptz NOT NULL DEFAULT now()
);
