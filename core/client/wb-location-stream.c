// SPDX-License-Identifier: GPL-3.0-or-later
/* The client side of /ws/locations (docs/live.md, docs/client.md).
 *
 * What the server knows of us on a connection is the view last sent; a
 * position {epoch, seq} means something only for that view. So a resumed
 * connection first subscribes again with the view the position belongs to,
 * and only then with a view changed meanwhile: the server answers the
 * first with exactly the missed changes and the second with the
 * difference, and the model never holds a vehicle it should not. A
 * connection lost just after a view change, when the position held may
 * still be of the view before, starts afresh instead (the entered items
 * replace what is held). */

#include "config.h"

#include <string.h>

#include "wb-json-writer.h"
#include "wb-live-vehicle-reader.h"
#include "wb-location-stream-private.h"

#define DEFAULT_DEBOUNCE_MS 150
/* How long after a view change the frames are taken to answer it. The
 * protocol has no acknowledgement: frames already on their way when the
 * server took the change still speak of the old view. */
#define ANSWER_MARGIN_US (1 * G_USEC_PER_SEC)

typedef struct
{
  gboolean   set;
  WbLiveBbox bbox;
  GStrv      company_ids;   /* NULL: every company */
} View;

struct _WbLocationStream
{
  GObject         parent_instance;
  WbClient       *client;
  WbVehicleModel *model;
  WbStreamLink   *link;
  WbStreamState   state;
  View            wanted;        /* what set_view() asked for */
  View            sent;          /* what the server was last told; the position is for it */
  gboolean        subscribed;    /* a subscribe went out on this connection */
  gboolean        replace_held;  /* a fresh subscribe while holding vehicles: the answer replaces them */
  gboolean        prune_held;    /* resumed: drop what the view does not hold once the answer is in */
  gboolean        position_sure; /* the position is known to be of the view last sent */
  gint64          view_sent_at;  /* monotonic µs of the last view change on this connection */
  char           *epoch;
  guint64         seq;
  guint           debounce_ms;
  GSource        *debounce;
};

G_DEFINE_FINAL_TYPE (WbLocationStream, wb_location_stream, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_APPLIED,
  SIGNAL_RESYNC,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
view_clear (View *view)
{
  view->set = FALSE;
  g_clear_pointer (&view->company_ids, g_strfreev);
}

static void
view_copy (View       *dest,
           const View *src)
{
  view_clear (dest);
  dest->set = src->set;
  dest->bbox = src->bbox;
  dest->company_ids = g_strdupv (src->company_ids);
}

static gboolean
view_equal (const View *a,
            const View *b)
{
  guint n;

  if (a->set != b->set)
    return FALSE;
  if (!a->set)
    return TRUE;
  if (memcmp (&a->bbox, &b->bbox, sizeof a->bbox) != 0)
    return FALSE;
  n = a->company_ids ? g_strv_length (a->company_ids) : 0;
  if (n != (b->company_ids ? g_strv_length (b->company_ids) : 0))
    return FALSE;
  return n == 0 || g_strv_equal ((const char * const *) a->company_ids, (const char * const *) b->company_ids);
}

/* ---- subscribing ------------------------------------------------------------ */

static char *
subscribe_text (const View *view,
                const char *since_epoch,
                guint64     since_seq)
{
  GString *out = g_string_new ("{\"type\":\"subscribe\",\"bbox\":[");

  wb_json_write_double (out, view->bbox.min_lon);
  g_string_append_c (out, ',');
  wb_json_write_double (out, view->bbox.min_lat);
  g_string_append_c (out, ',');
  wb_json_write_double (out, view->bbox.max_lon);
  g_string_append_c (out, ',');
  wb_json_write_double (out, view->bbox.max_lat);
  g_string_append_c (out, ']');
  if (view->company_ids != NULL && view->company_ids[0] != NULL)
    {
      g_string_append (out, ",\"companyIds\":[");
      for (guint i = 0; view->company_ids[i] != NULL; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          wb_json_write_string (out, view->company_ids[i]);
        }
      g_string_append_c (out, ']');
    }
  if (since_epoch != NULL)
    {
      g_string_append (out, ",\"since\":{\"epoch\":");
      wb_json_write_string (out, since_epoch);
      g_string_append (out, ",\"seq\":");
      wb_json_write_int (out, (gint64) since_seq);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

static void
send_subscribe (WbLocationStream *self,
                const View       *view,
                gboolean          resume)
{
  g_autofree char *text = subscribe_text (view, resume ? self->epoch : NULL, self->seq);

  if (!_wb_stream_link_send (self->link, text))
    return;
  /* The first subscribe of a connection is answered before any frame;
   * a later one only at some frame nobody can point at. */
  self->position_sure = !self->subscribed;
  self->view_sent_at = g_get_monotonic_time ();
  /* Without a position, a first subscribe's entered items are the whole
   * set: what is held from before is dropped when they arrive. */
  if (!self->subscribed && !resume)
    self->replace_held = g_list_model_get_n_items (G_LIST_MODEL (self->model)) > 0;
  self->subscribed = TRUE;
  if (view != &self->sent)
    view_copy (&self->sent, view);
}

static void
send_wanted_view (WbLocationStream *self)
{
  if (!self->wanted.set || !_wb_stream_link_is_open (self->link))
    return;
  if (self->subscribed && view_equal (&self->wanted, &self->sent))
    return;
  send_subscribe (self, &self->wanted, FALSE);
}

static void
on_opened (gpointer user_data)
{
  WbLocationStream *self = user_data;

  self->subscribed = FALSE;
  self->replace_held = FALSE;
  self->prune_held = FALSE;
  /* A position not sure to be of the view last sent cannot resume: the
   * replay would judge the missed changes by the wrong view. */
  if (self->sent.set && self->epoch != NULL && self->position_sure)
    {
      send_subscribe (self, &self->sent, TRUE);
      self->prune_held = TRUE;
    }
  send_wanted_view (self);
}

static gboolean
on_debounced (gpointer data)
{
  WbLocationStream *self = data;

  g_clear_pointer (&self->debounce, g_source_unref);
  send_wanted_view (self);
  return G_SOURCE_REMOVE;
}

/* ---- applying frames ----------------------------------------------------------- */

static void
set_position (WbLocationStream *self,
              const char       *epoch,
              guint64           seq)
{
  if (g_strcmp0 (self->epoch, epoch) != 0)
    {
      g_free (self->epoch);
      self->epoch = g_strdup (epoch);
    }
  self->seq = seq;
}

typedef enum
{
  FRAME_SUBSCRIBED,
  FRAME_RESYNC,
  FRAME_UPDATES,
} FrameType;

/* One message, read on a worker thread (wb-stream-link-private.h). */
typedef struct
{
  FrameType  type;
  char      *epoch;
  guint64    seq;
  GPtrArray *present;   /* WbLiveVehicle: entered and update items */
  GPtrArray *left;      /* vehicle ids */
  guint      entered;
  guint      updated;
} Frame;

static void
frame_free (gpointer data)
{
  Frame *frame = data;

  g_free (frame->epoch);
  g_ptr_array_unref (frame->present);
  g_ptr_array_unref (frame->left);
  g_free (frame);
}

static gboolean
read_update (WbJsonReader  *item,
             Frame         *frame,
             GError       **error)
{
  g_autoptr(WbJsonReader) vehicle = NULL;
  WbLiveVehicle *state;
  const char *type = NULL;
  char *id = NULL;

  if (!wb_json_reader_peek_string (item, "type", TRUE, 16, &type, error))
    return FALSE;
  if (g_str_equal (type, "left"))
    {
      if (!wb_json_reader_get_string (item, "vehicleId", TRUE, &id, error))
        return FALSE;
      g_ptr_array_add (frame->left, id);
      return TRUE;
    }
  if (!g_str_equal (type, "entered") && !g_str_equal (type, "update"))
    return wb_json_reader_fail (item, "type", error, "must be entered, update or left");
  frame->entered += g_str_equal (type, "entered");
  frame->updated += g_str_equal (type, "update");
  vehicle = wb_json_reader_get_object_member (item, "vehicle", TRUE, error);
  state = vehicle ? wb_live_vehicle_read (vehicle, error) : NULL;
  if (state == NULL)
    return FALSE;
  g_ptr_array_add (frame->present, state);
  return TRUE;
}

static gboolean
read_updates (WbJsonReader  *reader,
              Frame         *frame,
              GError       **error)
{
  guint length = 0;

  if (!wb_json_reader_get_array_length (reader, "updates", &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (reader, "updates", i, error);

      if (item == NULL || !read_update (item, frame, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_frame_type (WbJsonReader  *reader,
                 Frame         *frame,
                 GError       **error)
{
  const char *type = NULL;

  if (!wb_json_reader_peek_string (reader, "type", TRUE, 16, &type, error))
    return FALSE;
  if (g_str_equal (type, "subscribed"))
    frame->type = FRAME_SUBSCRIBED;
  else if (g_str_equal (type, "resync"))
    frame->type = FRAME_RESYNC;
  else if (g_str_equal (type, "updates"))
    frame->type = FRAME_UPDATES;
  else
    return wb_json_reader_fail (reader, "type", error, "must be subscribed, resync or updates");
  return TRUE;
}

/* A frame is read whole before any of it is applied: a bad one changes
 * nothing, and the stream resumes from the last good position. */
static gpointer
read_frame (JsonNode  *message,
            GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (message, "", error);
  Frame *frame = g_new0 (Frame, 1);
  gboolean present = FALSE;
  gint64 seq = 0;

  frame->present = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  frame->left = g_ptr_array_new_with_free_func (g_free);
  if (reader == NULL
      || !read_frame_type (reader, frame, error)
      || !wb_json_reader_get_string (reader, "epoch", TRUE, &frame->epoch, error)
      || !wb_json_reader_get_int64 (reader, "seq", 0, G_MAXINT64, &present, &seq, error)
      || (!present && !wb_json_reader_fail (reader, "seq", error, "is required"))
      || (frame->type == FRAME_UPDATES && !read_updates (reader, frame, error)))
    {
      frame_free (frame);
      return NULL;
    }
  frame->seq = (guint64) seq;
  return frame;
}

/* Removals and additions each in one pass with one items-changed: a pan
 * that brings a thousand vehicles in and takes a thousand out would
 * otherwise renumber the list a thousand times. A frame has one item per
 * vehicle, so the order of the passes does not matter. */
static void
apply_updates (WbLocationStream *self,
               Frame            *frame)
{
  guint left = wb_vehicle_model_remove_all (self->model, frame->left);

  wb_vehicle_model_apply_all (self->model, frame->present);
  g_signal_emit (self, signals[SIGNAL_APPLIED], 0, frame->entered, frame->updated, left);
}

/* The position held may be older than the last view sent: a connection
 * lost right after a pan, before the server's answer. The replay then
 * judges changes by the new view, and a vehicle held from the old one that
 * did not change would never be told to leave. The client judges those
 * itself, by the rule the server uses; should it drop one too early, the
 * server's next update brings it back. */
static void
prune_outside_view (WbLocationStream *self)
{
  g_autoptr(WbLiveView) view = wb_live_view_new (&self->sent.bbox, (const char * const *) self->sent.company_ids,
                                                 NULL);
  g_autoptr(GPtrArray) outside = g_ptr_array_new ();
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->model));

  for (guint i = 0; view != NULL && i < n; i++)
    {
      g_autoptr(WbClientVehicle) vehicle = g_list_model_get_item (G_LIST_MODEL (self->model), i);

      if (!wb_live_view_contains (view, wb_client_vehicle_get_state (vehicle)))
        g_ptr_array_add (outside, (gpointer) wb_client_vehicle_get_id (vehicle));
    }
  wb_vehicle_model_remove_all (self->model, outside);
}

static void
on_frame (gpointer data,
          gpointer user_data)
{
  WbLocationStream *self = user_data;
  Frame *frame = data;

  /* A first subscribe without a position: its answer replaces what is
   * held from before. */
  if (self->replace_held || frame->type == FRAME_RESYNC)
    wb_vehicle_model_clear (self->model);
  self->replace_held = FALSE;
  if (frame->type == FRAME_RESYNC)
    g_signal_emit (self, signals[SIGNAL_RESYNC], 0);
  else if (frame->type == FRAME_UPDATES)
    apply_updates (self, frame);
  if (self->prune_held)
    prune_outside_view (self);
  self->prune_held = FALSE;
  if (!self->position_sure && g_get_monotonic_time () - self->view_sent_at >= ANSWER_MARGIN_US)
    self->position_sure = TRUE;
  set_position (self, frame->epoch, frame->seq);
  _wb_stream_link_set_live (self->link);
}

static void
on_state_changed (WbStreamState state,
                  gpointer      user_data)
{
  WbLocationStream *self = user_data;

  if (self->state == state)
    return;
  self->state = state;
  /* The picture stays, marked as possibly out of date, until the stream
   * is live again and has told what changed meanwhile. */
  wb_vehicle_model_set_stale (self->model, state != WB_STREAM_STATE_LIVE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static const WbStreamLinkCallbacks link_callbacks = {
  .opened = on_opened,
  .read = read_frame,
  .frame = on_frame,
  .free_frame = frame_free,
  .state_changed = on_state_changed,
};

/* ---- the object -------------------------------------------------------------- */

static void
clear_debounce (WbLocationStream *self)
{
  if (self->debounce == NULL)
    return;
  g_source_destroy (self->debounce);
  g_clear_pointer (&self->debounce, g_source_unref);
}

static void
wb_location_stream_dispose (GObject *object)
{
  WbLocationStream *self = WB_LOCATION_STREAM (object);

  clear_debounce (self);
  if (self->link != NULL)
    _wb_stream_link_detach (self->link);
  g_clear_object (&self->link);

  G_OBJECT_CLASS (wb_location_stream_parent_class)->dispose (object);
}

static void
wb_location_stream_finalize (GObject *object)
{
  WbLocationStream *self = WB_LOCATION_STREAM (object);

  view_clear (&self->wanted);
  view_clear (&self->sent);
  g_clear_pointer (&self->epoch, g_free);
  g_clear_object (&self->model);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (wb_location_stream_parent_class)->finalize (object);
}

static void
wb_location_stream_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  WbLocationStream *self = WB_LOCATION_STREAM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_location_stream_class_init (WbLocationStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_location_stream_dispose;
  object_class->finalize = wb_location_stream_finalize;
  object_class->get_property = wb_location_stream_get_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, WB_TYPE_STREAM_STATE, WB_STREAM_STATE_DISCONNECTED,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_APPLIED] =
    g_signal_new ("applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT);
  signals[SIGNAL_RESYNC] =
    g_signal_new ("resync", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
wb_location_stream_init (WbLocationStream *self)
{
  self->debounce_ms = DEFAULT_DEBOUNCE_MS;
}

WbLocationStream *
wb_location_stream_new (WbClient       *client,
                        WbVehicleModel *model)
{
  WbLocationStream *self;

  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  g_return_val_if_fail (WB_IS_VEHICLE_MODEL (model), NULL);

  self = g_object_new (WB_TYPE_LOCATION_STREAM, NULL);
  self->client = g_object_ref (client);
  self->model = g_object_ref (model);
  self->link = _wb_stream_link_new (client, "/ws/locations", &link_callbacks, self);
  return self;
}

/**
 * wb_location_stream_get_model:
 *
 * Returns: (transfer none): the model the stream keeps
 */
WbVehicleModel *
wb_location_stream_get_model (WbLocationStream *self)
{
  g_return_val_if_fail (WB_IS_LOCATION_STREAM (self), NULL);
  return self->model;
}

/**
 * wb_location_stream_set_view:
 * @bbox: the box; clamped to the world, but never across the
 *   antimeridian (minLon east of maxLon)
 * @company_ids: (nullable) (array zero-terminated=1)
 */
void
wb_location_stream_set_view (WbLocationStream   *self,
                             const WbLiveBbox   *bbox,
                             const char * const *company_ids)
{
  WbLiveBbox clamped;

  g_return_if_fail (WB_IS_LOCATION_STREAM (self));
  g_return_if_fail (bbox != NULL);

  /* A map zoomed out past the world's edges asks for more than there is. */
  clamped.min_lon = CLAMP (bbox->min_lon, -180.0, 180.0);
  clamped.max_lon = CLAMP (bbox->max_lon, -180.0, 180.0);
  clamped.min_lat = CLAMP (bbox->min_lat, -90.0, 90.0);
  clamped.max_lat = CLAMP (bbox->max_lat, -90.0, 90.0);
  g_return_if_fail (wb_live_bbox_validate (&clamped, NULL));

  view_clear (&self->wanted);
  self->wanted.set = TRUE;
  self->wanted.bbox = clamped;
  self->wanted.company_ids = g_strdupv ((char **) company_ids);
  clear_debounce (self);
  if (self->debounce_ms == 0)
    return send_wanted_view (self);
  self->debounce = g_timeout_source_new (self->debounce_ms);
  g_source_set_callback (self->debounce, on_debounced, self, NULL);
  g_source_attach (self->debounce, g_main_context_get_thread_default ());
}

void
wb_location_stream_set_debounce (WbLocationStream *self,
                                 guint             debounce_ms)
{
  g_return_if_fail (WB_IS_LOCATION_STREAM (self));
  self->debounce_ms = debounce_ms;
}

void
wb_location_stream_set_backoff (WbLocationStream *self,
                                guint             min_ms,
                                guint             max_ms)
{
  g_return_if_fail (WB_IS_LOCATION_STREAM (self));
  _wb_stream_link_set_backoff (self->link, min_ms, max_ms);
}

/**
 * wb_location_stream_set_position:
 *
 * Call before start, with the view already set: the position belongs to
 * that view.
 */
void
wb_location_stream_set_position (WbLocationStream *self,
                                 const char       *epoch,
                                 guint64           seq)
{
  g_return_if_fail (WB_IS_LOCATION_STREAM (self));
  g_return_if_fail (epoch != NULL);
  g_return_if_fail (self->wanted.set);

  set_position (self, epoch, seq);
  view_copy (&self->sent, &self->wanted);
  self->position_sure = TRUE;
}

void
wb_location_stream_start (WbLocationStream *self)
{
  g_return_if_fail (WB_IS_LOCATION_STREAM (self));
  _wb_stream_link_start (self->link);
}

void
wb_location_stream_stop (WbLocationStream *self)
{
  g_return_if_fail (WB_IS_LOCATION_STREAM (self));
  _wb_stream_link_stop (self->link);
}

WbStreamState
wb_location_stream_get_state (WbLocationStream *self)
{
  g_return_val_if_fail (WB_IS_LOCATION_STREAM (self), WB_STREAM_STATE_DISCONNECTED);
  return self->state;
}

const char *
wb_location_stream_get_epoch (WbLocationStream *self)
{
  g_return_val_if_fail (WB_IS_LOCATION_STREAM (self), NULL);
  return self->epoch;
}

guint64
wb_location_stream_get_seq (WbLocationStream *self)
{
  g_return_val_if_fail (WB_IS_LOCATION_STREAM (self), 0);
  return self->seq;
}

const GError *
wb_location_stream_get_error (WbLocationStream *self)
{
  g_return_val_if_fail (WB_IS_LOCATION_STREAM (self), NULL);
  return _wb_stream_link_get_error (self->link);
}

WbStreamLink *
_wb_location_stream_get_link (WbLocationStream *self)
{
  return self->link;
}
