// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "wb-test-ws.h"

void
wb_test_ws_iterate_until (gboolean   *flag,
                          guint       timeout_s,
                          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (!*flag)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

typedef struct
{
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 done;
} Handshake;

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Handshake *handshake = data;

  handshake->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &handshake->error);
  handshake->done = TRUE;
}

SoupWebsocketConnection *
wb_test_ws_connect (SoupSession  *session,
                    const char   *uri,
                    const char   *token,
                    guint         timeout_s,
                    GError      **error)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  Handshake handshake = { 0 };

  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
    }
  soup_session_websocket_connect_async (session, message, NULL, NULL, G_PRIORITY_DEFAULT, NULL, on_connected,
                                        &handshake);
  wb_test_ws_iterate_until (&handshake.done, timeout_s, "the WebSocket handshake");
  if (handshake.error != NULL)
    g_propagate_error (error, handshake.error);
  return handshake.connection;
}

GSocketConnection *
wb_test_ws_raw_connect (guint       port,
                        const char *path,
                        const char *token)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                              "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                                              path, token);
  char answer[1024];
  gssize got;
  GSocketConnection *connection;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, 4096, NULL));
  g_assert_true (g_socket_connect (socket, address, NULL, &error));
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                            request, strlen (request), NULL, NULL, &error));
  /* The server says nothing more until the client speaks: the answer
   * arrives alone. */
  got = g_socket_receive (socket, answer, sizeof answer - 1, NULL, &error);
  g_assert_cmpint (got, >, 0);
  answer[got] = '\0';
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 101"));
  return connection;
}

gboolean
wb_test_ws_send_frame (GSocketConnection *connection,
                       guint8             first_byte,
                       const char        *payload,
                       gsize              length)
{
  g_autofree guint8 *frame = g_malloc (length + 14);
  gsize header;

  g_assert_cmpuint (length, <=, G_MAXUINT16);
  frame[0] = first_byte;
  if (length < 126)
    frame[1] = 0x80 | length, header = 2;
  else
    frame[1] = 0x80 | 126, frame[2] = length >> 8, frame[3] = length & 0xff, header = 4;
  memcpy (frame + header, "\x01\x02\x03\x04", 4);
  for (gsize i = 0; i < length; i++)
    frame[header + 4 + i] = payload[i] ^ frame[header + i % 4];
  return g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), frame,
                                    header + 4 + length, NULL, NULL, NULL);
}

/* The length of the whole frame at @data, 0 if not all of its header is
 * there yet; its payload's offset in @out_header. */
static guint64
frame_length (const guint8 *data,
              gsize         available,
              gsize        *out_header)
{
  guint64 payload = available >= 2 ? data[1] & 0x7f : 0;

  if (available < 2)
    return 0;
  *out_header = 2;
  if (payload == 126)
    {
      if (available < 4)
        return 0;
      payload = data[2] << 8 | data[3];
      *out_header = 4;
    }
  else if (payload == 127)
    {
      if (available < 10)
        return 0;
      payload = 0;
      for (int i = 0; i < 8; i++)
        payload = payload << 8 | data[2 + i];
      *out_header = 10;
    }
  return *out_header + payload;
}

guint
wb_test_ws_read_close_code (GSocketConnection *connection,
                            guint              timeout_s)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buffer[16384];
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), timeout_s);
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      gsize header = 0;
      guint64 length;

      g_byte_array_append (data, buffer, n);
      /* Whole frames are dropped from the front as they come. */
      while ((length = frame_length (data->data, data->len, &header)) > 0 && length <= data->len)
        {
          if ((data->data[0] & 0x0f) == 0x8)
            return length - header >= 2 ? (guint) (data->data[header] << 8 | data->data[header + 1]) : 1005;
          g_byte_array_remove_range (data, 0, length);
        }
    }
  return 0;
}
