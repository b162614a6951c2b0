-- SPDX-License-Identifier: GPL-3.0-or-later
-- Shipments: the system of record (docs/shipments.md).
--
-- Every shipment owns its recipient and address rows (no sharing between
-- shipments), so a PATCH changes them in place without touching anyone else.
-- Times are timestamptz; the store formats them as RFC 3339 UTC.

CREATE TABLE recipients (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text,
  phone       text CONSTRAINT recipients_phone_check CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
  phone_raw   text,
  email       text
);

CREATE TABLE addresses (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  country     text CONSTRAINT addresses_country_check CHECK (country ~ '^[A-Z]{2}$'),
  region      text,
  city        text,
  line1       text,
  line2       text,
  postal_code text,
  lat         double precision CONSTRAINT addresses_lat_check CHECK (lat BETWEEN -90 AND 90),
  lon         double precision CONSTRAINT addresses_lon_check CHECK (lon BETWEEN -180 AND 180),
  CONSTRAINT addresses_coordinates_check CHECK ((lat IS NULL) = (lon IS NULL))
);

CREATE TABLE shipments (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id        text NOT NULL CONSTRAINT shipments_client_id_check CHECK (client_id <> ''),
  reference        text,
  recipient_id     bigint NOT NULL REFERENCES recipients,
  -- The recipient's E.164 phone, copied here so that a phone search is one
  -- index range on shipments rather than a join ordered by another table.
  recipient_phone  text,
  origin_id        bigint REFERENCES addresses,
  destination_id   bigint NOT NULL REFERENCES addresses,
  service_level    text,
  promised_at      timestamptz NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING'
                   CONSTRAINT shipments_status_check CHECK (status IN (
                     'PENDING', 'INFO_RECEIVED', 'IN_TRANSIT', 'OUT_FOR_DELIVERY',
                     'FAILED_ATTEMPT', 'AVAILABLE_FOR_PICKUP', 'DELIVERED', 'EXCEPTION',
                     'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED')),
  status_reason    text,
  status_at        timestamptz NOT NULL,
  -- The highest milestone reached (docs/shipments.md, the milestone rule).
  milestone_rank   smallint NOT NULL DEFAULT 0
                   CONSTRAINT shipments_milestone_rank_check CHECK (milestone_rank BETWEEN 0 AND 9),
  last_event_id    bigint,
  -- The latest ETA a carrier (or a PATCH) gave; eta below applies the ETA rule.
  carrier_eta      timestamptz,
  delivered_at     timestamptz,
  -- Generated, so that no write path can forget the ETA rule or the lateness.
  eta              timestamptz GENERATED ALWAYS AS (coalesce(delivered_at, carrier_eta, promised_at)) STORED,
  eta_source       text GENERATED ALWAYS AS (
                     CASE WHEN delivered_at IS NOT NULL OR carrier_eta IS NOT NULL THEN 'carrier'
                          ELSE 'promise' END) STORED,
  late_by_seconds  bigint GENERATED ALWAYS AS (
                     CASE WHEN delivered_at > promised_at
                          THEN floor(extract(epoch FROM delivered_at - promised_at))::bigint END) STORED,
  -- Set by the first detection of a breach: at most one shipment.delayed per breach.
  overdue_at       timestamptz,
  version          integer NOT NULL DEFAULT 1 CONSTRAINT shipments_version_check CHECK (version > 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  closed_at        timestamptz
);

CREATE TABLE trackings (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  shipment_id   uuid NOT NULL REFERENCES shipments,
  carrier       text NOT NULL CONSTRAINT trackings_carrier_check CHECK (carrier <> ''),
  track_number  text NOT NULL CONSTRAINT trackings_track_number_check CHECK (track_number <> ''),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT trackings_carrier_track_number_key UNIQUE (carrier, track_number)
);

CREATE INDEX trackings_shipment_idx ON trackings (shipment_id);

CREATE TABLE shipment_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  shipment_id     uuid NOT NULL REFERENCES shipments,
  tracking_id     bigint REFERENCES trackings,
  source          text NOT NULL CONSTRAINT shipment_events_source_check CHECK (source <> ''),
  event_id        text NOT NULL CONSTRAINT shipment_events_event_id_check CHECK (event_id <> ''),
  status          text NOT NULL
                  CONSTRAINT shipment_events_status_check CHECK (status IN (
                    'PENDING', 'INFO_RECEIVED', 'IN_TRANSIT', 'OUT_FOR_DELIVERY',
                    'FAILED_ATTEMPT', 'AVAILABLE_FOR_PICKUP', 'DELIVERED', 'EXCEPTION',
                    'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED')),
  reason          text,
  status_raw      text,
  occurred_at     timestamptz NOT NULL,
  occurred_at_raw text,
  zone_guessed    boolean NOT NULL DEFAULT false,
  location_text   text,
  lat             double precision CONSTRAINT shipment_events_lat_check CHECK (lat BETWEEN -90 AND 90),
  lon             double precision CONSTRAINT shipment_events_lon_check CHECK (lon BETWEEN -180 AND 180),
  description     text,
  correction      boolean NOT NULL DEFAULT false,
  applied         boolean NOT NULL,
  carrier_eta     timestamptz,
  received_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT shipment_events_coordinates_check CHECK ((lat IS NULL) = (lon IS NULL)),
  -- Idempotency: the database decides what is a duplicate, also under concurrency.
  CONSTRAINT shipment_events_source_event_id_key UNIQUE (source, event_id)
);

-- History pages, newest first.
CREATE INDEX shipment_events_history_idx ON shipment_events (shipment_id, occurred_at DESC, id DESC);

ALTER TABLE shipments
  ADD CONSTRAINT shipments_last_event_fkey FOREIGN KEY (last_event_id) REFERENCES shipment_events;

-- Search (GET /shipments/search) filters on any subset of: statuses,
-- client_id, phone, created range, updated range, overdue; results are
-- ordered by (created_at DESC, id DESC) with a keyset cursor on that pair.
-- Every one of the 64 combinations is served by an index (tests/shipment-store.c
-- checks their plans):
--   shipments_created_idx          the order and the cursor, the created range;
--                                  with no selective filter the page is read
--                                  backwards from it and stops after `limit` rows
--   shipments_client_created_idx   client_id = …, already in page order
--   shipments_phone_created_idx    recipient_phone = …, already in page order
--   shipments_status_created_idx   status = ANY (…), one ordered range per status
--   shipments_updated_idx          the updated range
--   shipments_open_promised_idx    overdue (open, not terminal, promised_at < now()),
--                                  partial, so it holds only what can still be
--                                  overdue; the periodic SLA job uses it too
-- Several filters at once combine these (BitmapAnd) or take the most
-- selective one and filter the rest.
CREATE INDEX shipments_created_idx ON shipments (created_at, id);
CREATE INDEX shipments_client_created_idx ON shipments (client_id, created_at, id);
CREATE INDEX shipments_phone_created_idx ON shipments (recipient_phone, created_at, id);
CREATE INDEX shipments_status_created_idx ON shipments (status, created_at, id);
CREATE INDEX shipments_updated_idx ON shipments (updated_at);
CREATE INDEX shipments_open_promised_idx ON shipments (promised_at)
  WHERE closed_at IS NULL
    AND status NOT IN ('DELIVERED', 'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED');

-- Messages written in the same transaction as the change they announce;
-- the outbox relay publishes them after commit, in id order, and deletes them.
CREATE TABLE outbox (
  id          bigserial PRIMARY KEY,
  topic       text NOT NULL,
  key         text,
  type        text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
