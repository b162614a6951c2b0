-- SPDX-License-Identifier: GPL-3.0-or-later
-- Fleet history and live state: every stored position (partitioned by day),
-- each vehicle's newest state, the trips that say which vehicle carries
-- what, and where each trip's carrier was last seen.
--
-- The fleet processor writes a batch of positions, the states it computed
-- and the carrier locations they imply in one transaction, and acknowledges
-- the bus batch only after COMMIT. A redelivered batch must change nothing,
-- so every write here is idempotent: positions by their primary key (ON
-- CONFLICT DO NOTHING), states and locations only when newer.
--
-- References are soft, as in 0003: a position keeps the vehicle, driver and
-- company it was enriched with, whether or not those rows exist.

-- One row per device and device time. The columns are ordered for the
-- tuple's alignment (8-byte, then 4-byte, then 1-byte and variable-length
-- values), which saves padding on the widest table of the schema; values
-- are the units of WbPosition. vehicle_id is NULL for a device fitted to no
-- vehicle (quarantined or not yet assigned): its positions are kept under
-- the device only. Unknown numbers are NULL, never NaN.
--
-- One partition per UTC day, named positions_YYYYMMDD: retention drops
-- whole partitions (no DELETE, no bloat), and a track or a day's export
-- reads only the days it covers.
CREATE TABLE positions (
  device_time timestamptz NOT NULL,
  server_time timestamptz NOT NULL,
  lat         double precision NOT NULL,
  lon         double precision NOT NULL,
  odometer    double precision,
  speed_kmh   real,
  heading     real,
  altitude    real,
  accuracy    real,
  fuel        real,
  ignition    boolean,
  device_id   text NOT NULL,
  vehicle_id  text,
  driver_id   text,
  company_id  text,
  protocol    text NOT NULL,
  attributes  jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (device_id, device_time)
) PARTITION BY RANGE (device_time);

-- Tracks: one vehicle's points in time order. Partial, because positions
-- without a vehicle are never read by vehicle, and vehicle_id = $1 implies
-- the predicate.
CREATE INDEX positions_vehicle_idx ON positions (vehicle_id, device_time)
  WHERE vehicle_id IS NOT NULL;

-- Creates the partition of @day unless it exists; returns whether it did.
-- The name and bounds come from the date alone, never from input text. The
-- advisory lock serializes creators (two daemons, or a writer and the
-- hourly maintenance), which CREATE TABLE IF NOT EXISTS alone does not.
CREATE FUNCTION waybill_positions_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  partition_name text := 'positions_' || to_char(day, 'YYYYMMDD');
BEGIN
  IF to_regclass(partition_name) IS NOT NULL THEN
    RETURN false;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('waybill_positions_partitions'));
  IF to_regclass(partition_name) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF positions FOR VALUES FROM (%L) TO (%L)',
                 partition_name,
                 to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
                 to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
  RETURN true;
END
$$;

-- Drops the day partitions before @first_kept_day; returns how many. Only
-- tables attached to positions and named by the scheme above are touched.
CREATE FUNCTION waybill_positions_drop_partitions_before(first_kept_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  part record;
  dropped integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('waybill_positions_partitions'));
  FOR part IN
    SELECT n.nspname, c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE i.inhparent = 'positions'::regclass
       AND c.relname ~ '^positions_[0-9]{8}$'
       AND to_date(substr(c.relname, 11), 'YYYYMMDD') < first_kept_day
  LOOP
    EXECUTE format('DROP TABLE %I.%I', part.nspname, part.relname);
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END
$$;

-- Each vehicle's newest position by device time, with the motion derived
-- from the points before it: the fleet processor's in-memory table is
-- rebuilt from here at start. A state replaces the stored one only when its
-- device_time is newer, so a late or redelivered batch cannot put an older
-- state back. Numbers are double precision (unlike positions) so that a
-- restart gives back exactly the state it stored. Every row is updated
-- again and again: the free space left in each page (fillfactor) keeps the
-- new versions on the same page, where they need no new index entry (HOT).
CREATE TABLE vehicle_states (
  vehicle_id   text PRIMARY KEY CONSTRAINT vehicle_states_vehicle_id_check CHECK (vehicle_id <> ''),
  device_id    text NOT NULL,
  driver_id    text,
  device_time  timestamptz NOT NULL,
  server_time  timestamptz NOT NULL,
  lat          double precision NOT NULL,
  lon          double precision NOT NULL,
  speed_kmh    double precision,
  heading      double precision,
  altitude     double precision,
  ignition     boolean,
  fuel         double precision,
  odometer     double precision,
  motion       text NOT NULL DEFAULT 'unknown'
               CONSTRAINT vehicle_states_motion_check CHECK (motion IN ('moving', 'stopped', 'unknown')),
  -- The device time the motion began; NULL when unknown.
  motion_since timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 50);

-- A trip: which vehicle carries a load and how far it has got. The dispatch
-- role owns it; the fleet processor only reads which vehicles are
-- IN_TRANSIT, once per batch, through the partial index.
CREATE TABLE trips (
  id          text PRIMARY KEY CONSTRAINT trips_id_check CHECK (id <> ''),
  vehicle_id  text,
  status      text NOT NULL
              CONSTRAINT trips_status_check CHECK (status IN ('PLANNED', 'IN_TRANSIT', 'COMPLETED', 'CANCELLED')),
  version     bigint NOT NULL DEFAULT 1 CONSTRAINT trips_version_check CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX trips_in_transit_idx ON trips (vehicle_id) WHERE status = 'IN_TRANSIT';

-- Where each trip's carrier was last seen: from the vehicle's tracker while
-- the trip is IN_TRANSIT (source 'vehicle'), or from the driver's phone app
-- (events.carrier_location, source 'phone'). Whichever is newer by
-- updated_at (the fix's time, not the write's) wins; an equal time keeps
-- the stored row, so a redelivery changes nothing. No foreign key: a phone
-- may report for a trip dispatch has not written yet.
CREATE TABLE carrier_locations (
  trip_id     text PRIMARY KEY CONSTRAINT carrier_locations_trip_id_check CHECK (trip_id <> ''),
  lat         double precision NOT NULL,
  lng         double precision NOT NULL,
  updated_at  timestamptz NOT NULL,
  source      text NOT NULL CONSTRAINT carrier_locations_source_check CHECK (source IN ('vehicle', 'phone'))
);
