-- SPDX-License-Identifier: GPL-3.0-or-later
-- Fleet reference data: the read-model of vehicle.updated, driver.updated and
-- company.updated (and of the same data taken over REST), plus the devices
-- that may send positions.
--
-- References between these tables are soft: the topics are independent, so
-- a vehicle may name a driver whose driver.updated has not arrived yet.
-- There are no foreign keys; the in-memory index resolves what it can.
--
-- The last writer wins by version: a row changes only for a greater version
-- (INSERT … ON CONFLICT … WHERE version < EXCLUDED.version). updated_at is
-- the producer's time when a message carries one, else the commit's.

CREATE TABLE companies (
  id          text PRIMARY KEY CONSTRAINT companies_id_check CHECK (id <> ''),
  name        text NOT NULL,
  version     bigint NOT NULL CONSTRAINT companies_version_check CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drivers (
  id          text PRIMARY KEY CONSTRAINT drivers_id_check CHECK (id <> ''),
  name        text NOT NULL,
  phone       text,
  company_id  text,
  version     bigint NOT NULL CONSTRAINT drivers_version_check CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- GET /drivers?companyId= pages by id within one company.
CREATE INDEX drivers_company_idx ON drivers (company_id, id);

CREATE TABLE vehicles (
  id          text PRIMARY KEY CONSTRAINT vehicles_id_check CHECK (id <> ''),
  plate       text NOT NULL,
  company_id  text,
  driver_id   text,
  group_id    text,
  tariff_id   text,
  version     bigint NOT NULL CONSTRAINT vehicles_version_check CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX vehicles_company_idx ON vehicles (company_id, id);
CREATE INDEX vehicles_group_idx ON vehicles (group_id, id);

-- A tracker: device_id is its id, or its IMEI for Teltonika. Only a SHA-256
-- of the token is kept (hex), never the token. A device that appeared
-- before anyone registered it (accepted into quarantine) has version 0 and
-- no vehicle until an administrator writes it.
CREATE TABLE devices (
  device_id     text PRIMARY KEY CONSTRAINT devices_device_id_check CHECK (device_id <> ''),
  vehicle_id    text,
  token_hash    text CONSTRAINT devices_token_hash_check CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  quarantined   boolean NOT NULL DEFAULT false,
  -- Set once, by the first appearance: device.first_seen is published
  -- by whoever sets it, so once across restarts and daemons.
  first_seen_at timestamptz,
  last_seen_at  timestamptz,
  version       bigint NOT NULL CONSTRAINT devices_version_check CHECK (version >= 0),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX devices_vehicle_idx ON devices (vehicle_id);
