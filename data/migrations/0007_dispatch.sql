-- SPDX-License-Identifier: GPL-3.0-or-later
-- Dispatch (docs/dispatch.md): pickup points, batches of shipments, trips
-- that carry them through ordered stops, and operator commands.
--
-- The rules that must hold under concurrency are the database's: a
-- shipment is in at most one open batch, and a vehicle or a driver is on
-- at most one IN_TRANSIT trip (partial unique indexes), so two dispatchers
-- or two daemons racing each other cannot both win.

CREATE TABLE pickup_points (
  id             text PRIMARY KEY CONSTRAINT pickup_points_id_check CHECK (id <> ''),
  name           text NOT NULL,
  country        text CONSTRAINT pickup_points_country_check CHECK (country ~ '^[A-Z]{2}$'),
  city           text,
  line1          text,
  postal_code    text,
  lat            double precision NOT NULL CONSTRAINT pickup_points_lat_check CHECK (lat BETWEEN -90 AND 90),
  lon            double precision NOT NULL CONSTRAINT pickup_points_lon_check CHECK (lon BETWEEN -180 AND 180),
  opening_hours  text,
  capacity       integer CONSTRAINT pickup_points_capacity_check CHECK (capacity > 0),
  version        bigint NOT NULL DEFAULT 1 CONSTRAINT pickup_points_version_check CHECK (version > 0),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A shipment addressed to a pickup point rather than a street address
-- (its destination row still holds the point's address).
ALTER TABLE shipments
  ADD COLUMN pickup_point_id text CONSTRAINT shipments_pickup_point_fkey REFERENCES pickup_points;

CREATE INDEX shipments_pickup_point_idx ON shipments (pickup_point_id) WHERE pickup_point_id IS NOT NULL;

-- Shipments going to one destination together: a pickup point, or an
-- address with coordinates. A batch is OPEN until its stop is reached (or
-- its trip completes); then CLOSED.
CREATE TABLE batches (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pickup_point_id  text CONSTRAINT batches_pickup_point_fkey REFERENCES pickup_points,
  address          text,
  lat              double precision CONSTRAINT batches_lat_check CHECK (lat BETWEEN -90 AND 90),
  lon              double precision CONSTRAINT batches_lon_check CHECK (lon BETWEEN -180 AND 180),
  status           text NOT NULL DEFAULT 'OPEN' CONSTRAINT batches_status_check CHECK (status IN ('OPEN', 'CLOSED')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  closed_at        timestamptz,
  CONSTRAINT batches_destination_check CHECK ((pickup_point_id IS NULL) <> (address IS NULL)),
  CONSTRAINT batches_coordinates_check CHECK ((lat IS NULL) = (lon IS NULL))
);

CREATE INDEX batches_created_idx ON batches (created_at, id);

-- open mirrors the batch's status, so that the "one open batch per
-- shipment" rule is a unique index on this table alone.
CREATE TABLE batch_shipments (
  batch_id     uuid NOT NULL CONSTRAINT batch_shipments_batch_fkey REFERENCES batches ON DELETE CASCADE,
  shipment_id  uuid NOT NULL CONSTRAINT batch_shipments_shipment_fkey REFERENCES shipments,
  open         boolean NOT NULL DEFAULT true,
  CONSTRAINT batch_shipments_pkey PRIMARY KEY (batch_id, shipment_id)
);

CREATE UNIQUE INDEX batch_shipments_open_shipment_key ON batch_shipments (shipment_id) WHERE open;

-- Trips (the table came with the fleet positions; dispatch now owns it).
-- Rows written before dispatch existed keep NULL in the new columns.
ALTER TABLE trips
  ADD COLUMN company_id     text,
  ADD COLUMN driver_id      text,
  ADD COLUMN planned_start  timestamptz,
  ADD COLUMN started_at     timestamptz,
  ADD COLUMN finished_at    timestamptz,
  ADD COLUMN cancel_reason  text,
  ADD COLUMN created_at     timestamptz NOT NULL DEFAULT now();

DROP INDEX trips_in_transit_idx;
CREATE UNIQUE INDEX trips_vehicle_in_transit_key ON trips (vehicle_id) WHERE status = 'IN_TRANSIT';
CREATE UNIQUE INDEX trips_driver_in_transit_key ON trips (driver_id) WHERE status = 'IN_TRANSIT';
-- GET /trips pages by (created_at, id), newest first, under any filter.
CREATE INDEX trips_created_idx ON trips (created_at, id);
CREATE INDEX trips_company_created_idx ON trips (company_id, created_at, id);

-- A trip's stops, in order: a pickup point, or an address with
-- coordinates. arrived_at and departed_at are set once each (by GPS or by
-- the trip's completion), which is what makes each announcement once.
CREATE TABLE trip_stops (
  trip_id          text NOT NULL CONSTRAINT trip_stops_trip_fkey REFERENCES trips ON DELETE CASCADE,
  seq              integer NOT NULL CONSTRAINT trip_stops_seq_check CHECK (seq >= 0),
  pickup_point_id  text CONSTRAINT trip_stops_pickup_point_fkey REFERENCES pickup_points,
  address          text,
  lat              double precision NOT NULL CONSTRAINT trip_stops_lat_check CHECK (lat BETWEEN -90 AND 90),
  lon              double precision NOT NULL CONSTRAINT trip_stops_lon_check CHECK (lon BETWEEN -180 AND 180),
  arrived_at       timestamptz,
  departed_at      timestamptz,
  -- When the vehicle was first seen inside the radius on this visit; the
  -- arrival counts once it has stayed for the dwell time.
  inside_since     timestamptz,
  CONSTRAINT trip_stops_pkey PRIMARY KEY (trip_id, seq),
  CONSTRAINT trip_stops_destination_check CHECK ((pickup_point_id IS NULL) <> (address IS NULL))
);

CREATE TABLE trip_stop_batches (
  trip_id   text NOT NULL,
  seq       integer NOT NULL,
  batch_id  uuid NOT NULL CONSTRAINT trip_stop_batches_batch_fkey REFERENCES batches,
  CONSTRAINT trip_stop_batches_pkey PRIMARY KEY (trip_id, seq, batch_id),
  CONSTRAINT trip_stop_batches_stop_fkey FOREIGN KEY (trip_id, seq) REFERENCES trip_stops ON DELETE CASCADE
);

CREATE INDEX trip_stop_batches_batch_idx ON trip_stop_batches (batch_id);

-- Operator commands: a request recorded when it is accepted (pending) and
-- decided once (applied or rejected, with the reason). The id is the
-- client's Idempotency-Key when it gave one, so a retry finds its command.
CREATE TABLE commands (
  id            text PRIMARY KEY CONSTRAINT commands_id_check CHECK (id <> ''),
  kind          text NOT NULL CONSTRAINT commands_kind_check CHECK (kind IN ('trip.reassign')),
  trip_id       text NOT NULL,
  vehicle_id    text,
  driver_id     text,
  reason        text NOT NULL,
  requested_by  text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  status        text NOT NULL DEFAULT 'pending'
                CONSTRAINT commands_status_check CHECK (status IN ('pending', 'applied', 'rejected')),
  outcome       text,
  decided_at    timestamptz,
  CONSTRAINT commands_target_check CHECK (vehicle_id IS NOT NULL OR driver_id IS NOT NULL)
);

-- Great-circle distance in metres between two points (NULL if either is),
-- for the vehicle ETA of a shipment on a trip (docs/dispatch.md).
CREATE FUNCTION waybill_distance_m(lat1 double precision, lon1 double precision,
                                   lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT 2 * 6371008.8 * asin(least(1, sqrt(
           sin(radians(lat2 - lat1) / 2) ^ 2
           + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;
