// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_CLIENT_COMPILATION)
# error "wb-stream-link-private.h is private to core/client"
#endif

#include "wb-client.h"
#include "wb-stream-state.h"

G_BEGIN_DECLS

/* What a stream on top of a link is told. */
typedef struct
{
  /* The WebSocket is open: send the subscribe. */
  void (*opened)        (gpointer      user_data);
  /* On a worker thread: one text message, already through core/json's
   * guarded parser, read into the owner's frame (or %NULL with an error:
   * the stream is dropped and resumed). Touches nothing but @message. */
  gpointer (*read)      (JsonNode     *message,
                         GError      **error);
  /* On the main context, in the order the messages came: apply a frame. */
  void (*frame)         (gpointer      frame,
                         gpointer      user_data);
  GDestroyNotify free_frame;
  /* The link's state changed (never to LIVE unless the owner said so). */
  void (*state_changed) (WbStreamState state,
                         gpointer      user_data);
} WbStreamLinkCallbacks;

#define WB_TYPE_STREAM_LINK (wb_stream_link_get_type ())

G_DECLARE_FINAL_TYPE (WbStreamLink, wb_stream_link, WB, STREAM_LINK, GObject)

/* One WebSocket endpoint of a WbClient, kept open: a lost or refused
 * connection is retried after an exponential back-off with jitter, until
 * stopped. Messages are parsed and read on a worker thread, one at a time
 * and in order, so a big frame never stalls the main loop; only applying
 * it runs there. The owner speaks the endpoint's protocol. */
WbStreamLink  *_wb_stream_link_new         (WbClient                    *client,
                                            const char                  *path,
                                            const WbStreamLinkCallbacks *callbacks,
                                            gpointer                     user_data);
/* Delays grow from @min_ms, doubling per failed attempt, up to @max_ms;
 * each is drawn at random from its upper half. */
void           _wb_stream_link_set_backoff (WbStreamLink *self,
                                            guint         min_ms,
                                            guint         max_ms);
void           _wb_stream_link_start       (WbStreamLink *self);
/* Closes, cancels a connect or a retry in flight, and stays disconnected
 * until started again. */
void           _wb_stream_link_stop        (WbStreamLink *self);
/* Stops for good: the callbacks are never called again (the owner's
 * dispose). */
void           _wb_stream_link_detach      (WbStreamLink *self);
/* The server answered the subscribe: the link is live and the back-off
 * starts again from its minimum. */
void           _wb_stream_link_set_live    (WbStreamLink *self);
/* A message the owner cannot use: close and connect again. */
void           _wb_stream_link_reconnect   (WbStreamLink *self,
                                            const char   *why);
/* Closes as if the network had dropped the stream (tests). */
void           _wb_stream_link_drop        (WbStreamLink *self);
gboolean       _wb_stream_link_send        (WbStreamLink *self,
                                            const char   *text);
gboolean       _wb_stream_link_is_open     (WbStreamLink *self);
WbStreamState  _wb_stream_link_get_state   (WbStreamLink *self);
/* Why the last connection failed or closed, %NULL when none did. */
const GError  *_wb_stream_link_get_error   (WbStreamLink *self);
/* The delay the next retry would wait at most, for tests and docs. */
guint          _wb_stream_link_get_attempt (WbStreamLink *self);

G_END_DECLS
