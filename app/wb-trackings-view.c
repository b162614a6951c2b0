// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-page-loader.h"
#include "wb-carrier-chart.h"
#include "wb-shipment-format.h"
#include "wb-trackings-view.h"
#include "wb-text-column.h"

#define CARRIERS_INTERVAL_S 10
#define LIST_INTERVAL_S     10
#define MAX_NUMBERS         1000   /* what POST /trackings takes at once */

struct _WbTrackingsView
{
  GtkWidget            parent_instance;

  WbClient            *client;
  GCancellable        *cancellable;     /* this client's reads */
  GPtrArray           *carriers;        /* WbClientCarrier */
  GtkStringList       *carrier_codes;   /* the add picker's rows */
  GtkStringList       *carrier_filters; /* "Any carrier", then the codes */
  WbTrackingListModel *results;
  GtkSingleSelection  *selection;
  guint                page_size;
  guint                carriers_source;
  guint                list_source;
  gboolean             adding;
  GPtrArray           *adding_numbers;  /* what the add on its way sent */

  GtkStack            *pages;
  GtkTextView         *numbers_text;
  GtkLabel            *numbers_hint;
  GtkDropDown         *add_carrier;
  GtkButton           *add_button;
  GtkLabel            *added_label;
  GtkDropDown         *carrier_filter;
  GtkDropDown         *status_filter;
  GtkCheckButton      *erroring_check;
  GtkLabel            *error_label;
  GtkScrolledWindow   *scrolled;
  WbPageLoader         *loader;
  GtkColumnView       *column_view;
  GtkLabel            *count_label;
  GtkBox              *carriers_box;
};

G_DEFINE_FINAL_TYPE (WbTrackingsView, wb_trackings_view, GTK_TYPE_WIDGET)

static void reload (WbTrackingsView *self);

static void
show_error (WbTrackingsView *self,
            const char      *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

/* ---- columns ----------------------------------------------------------------- */

static char *
carrier_text (gpointer tracking,
              gpointer user_data)
{
  return g_strdup (wb_client_tracking_get_carrier_code (tracking));
}

static char *
number_text (gpointer tracking,
             gpointer user_data)
{
  return g_strdup (wb_client_tracking_get_track_number (tracking));
}

static char *
status_text (gpointer tracking,
             gpointer user_data)
{
  const char *status = wb_client_tracking_get_status (tracking);

  if (g_strcmp0 (status, "PENDING") == 0 && wb_client_tracking_get_last_checked_at (tracking) == 0)
    return g_strdup (_("Not checked yet"));
  return g_strdup (wb_shipment_format_status (status));
}

static char *
raw_text (gpointer tracking,
          gpointer user_data)
{
  return g_strdup (wb_client_tracking_get_status_raw (tracking) ?: "—");
}

static char *
status_at_text (gpointer tracking,
                gpointer user_data)
{
  return wb_shipment_format_time (wb_client_tracking_get_status_at (tracking));
}

static char *
last_check_text (gpointer tracking,
                 gpointer user_data)
{
  return wb_shipment_format_time (wb_client_tracking_get_last_checked_at (tracking));
}

static char *
next_check_text (gpointer tracking,
                 gpointer user_data)
{
  gint64 next = wb_client_tracking_get_next_check_at (tracking);

  /* Final: nothing more to ask the carrier. */
  if (next == 0)
    return g_strdup (_("No more checks"));
  if (next <= g_get_real_time ())
    return g_strdup (_("Due now"));
  return wb_shipment_format_time (next);
}

static char *
error_text (gpointer tracking,
            gpointer user_data)
{
  const char *error = wb_client_tracking_get_last_error (tracking);
  guint errors = wb_client_tracking_get_consecutive_errors (tracking);

  if (error == NULL || errors == 0)
    return g_strdup ("");
  /* Translators: the last check's error and how many checks in a row failed */
  return g_strdup_printf (ngettext ("%s (%u check)", "%s (%u checks in a row)", errors), error, errors);
}

static const char *
error_style (gpointer tracking,
             gpointer user_data)
{
  return "error";
}

static void
setup_refresh (GtkSignalListItemFactory *factory,
               GtkListItem              *item)
{
  GtkWidget *button = gtk_button_new_from_icon_name ("view-refresh-symbolic");

  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, _("Check now"));
  gtk_list_item_set_child (item, button);
}

static void
bind_refresh (GtkSignalListItemFactory *factory,
              GtkListItem              *item)
{
  WbClientTracking *tracking = gtk_list_item_get_item (item);
  GtkWidget *button = gtk_list_item_get_child (item);
  /* Translators: a button's accessible name, %s a track number */
  g_autofree char *label = g_strdup_printf (_("Check %s now"), wb_client_tracking_get_track_number (tracking));
  g_autofree char *name = g_strdup_printf ("refresh-%" G_GINT64_FORMAT, wb_client_tracking_get_id (tracking));

  gtk_widget_set_name (button, name);
  /* The target first: the action takes a tracking's id, never nothing. */
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "x", wb_client_tracking_get_id (tracking));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "trackings.refresh");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
add_columns (WbTrackingsView *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnView *view = self->column_view;
  GtkColumnViewColumn *column;
  WbTextColumnFlags tip = WB_TEXT_COLUMN_TOOLTIP;

  wb_text_column_append (view, _("Carrier"), carrier_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Number"), number_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Status"), status_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Carrier's status"), raw_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Status time"), status_at_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Last check"), last_check_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Next check"), next_check_text, NULL, NULL, tip);
  wb_text_column_append (view, _("Error"), error_text, error_style, NULL, tip | WB_TEXT_COLUMN_EXPAND);
  g_signal_connect (factory, "setup", G_CALLBACK (setup_refresh), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_refresh), NULL);
  column = gtk_column_view_column_new (NULL, factory);
  gtk_column_view_append_column (view, column);
  g_object_unref (column);
}

/* ---- the list, paged as it scrolls ----------------------------------------- */

static void
update_count (WbTrackingsView *self)
{
  WbPagedModel *model = WB_PAGED_MODEL (self->results);
  guint n = model ? g_list_model_get_n_items (G_LIST_MODEL (model)) : 0;
  g_autofree char *text = NULL;

  if (model == NULL)
    text = g_strdup ("");
  else if (wb_paged_model_get_loading (model))
    text = g_strdup_printf (ngettext ("%u tracking shown, loading more…", "%u trackings shown, loading more…", n), n);
  else if (wb_paged_model_get_has_more (model))
    text = g_strdup_printf (ngettext ("%u tracking shown, more as you scroll", "%u trackings shown, more as you scroll",
                                      n), n);
  else
    text = g_strdup_printf (ngettext ("%u tracking, all shown", "%u trackings, all shown", n), n);
  gtk_label_set_text (self->count_label, text);
}

static void
on_results_loading (WbTrackingsView *self)
{
  const GError *error = wb_paged_model_get_error (WB_PAGED_MODEL (self->results));

  update_count (self);
  if (wb_paged_model_get_loading (WB_PAGED_MODEL (self->results)))
    return;
  if (error != NULL)
    {
      g_autofree char *message = g_strdup_printf (_("The trackings cannot be read: %s"), error->message);

      show_error (self, message);
    }
  wb_page_loader_check (self->loader);
}

static char *
selected_string (GtkDropDown *dropdown)
{
  GtkStringObject *item = gtk_drop_down_get_selected_item (dropdown);

  return item ? g_strdup (gtk_string_object_get_string (item)) : NULL;
}

static void
reload (WbTrackingsView *self)
{
  g_autoptr(WbClientTrackingQuery) query = wb_client_tracking_query_new ();
  guint carrier = gtk_drop_down_get_selected (self->carrier_filter);
  guint status = gtk_drop_down_get_selected (self->status_filter);

  if (self->client == NULL)
    return;
  show_error (self, NULL);
  if (carrier != GTK_INVALID_LIST_POSITION && carrier > 0)
    query->carrier = selected_string (self->carrier_filter);
  if (status != GTK_INVALID_LIST_POSITION && status > 0)
    query->status = g_strdup (status == 1 ? "PENDING" : wb_shipment_format_statuses ()[status - 2]);
  query->erroring = gtk_check_button_get_active (self->erroring_check);
  query->limit = self->page_size;
  if (self->results != NULL)
    g_signal_handlers_disconnect_by_data (self->results, self);
  g_clear_object (&self->results);
  self->results = wb_tracking_list_model_new (self->client, query);
  g_signal_connect_swapped (self->results, "notify::loading", G_CALLBACK (on_results_loading), self);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->results));
  wb_page_loader_set_model (self->loader, WB_PAGED_MODEL (self->results));
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scrolled), 0);
  wb_paged_model_load_more (WB_PAGED_MODEL (self->results));
}

static void
on_filter_changed (WbTrackingsView *self)
{
  reload (self);
}

static void
reload_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  WbTrackingsView *self = WB_TRACKINGS_VIEW (widget);

  reload (self);
  wb_trackings_view_reload_carriers (self);
}

/* While the list shows its first rows, it reads them again now and then:
 * checks move statuses on without anyone asking. Scrolled down, the rows
 * stay put under the reader. */
static gboolean
list_tick (gpointer data)
{
  WbTrackingsView *self = data;
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);

  if (gtk_adjustment_get_value (adjustment) == 0 && self->results != NULL
      && !wb_paged_model_get_loading (WB_PAGED_MODEL (self->results)))
    reload (self);
  return G_SOURCE_CONTINUE;
}

/* ---- adding numbers ----------------------------------------------------------- */

/* The pasted text's numbers: split at white space, commas and
 * semicolons, each once, in the order given. */
static GPtrArray *
read_numbers (WbTrackingsView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->numbers_text);
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  g_auto(GStrv) words = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *numbers = g_ptr_array_new_with_free_func (g_free);

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  g_strdelimit (text, ",;\t\r\n", ' ');
  words = g_strsplit (text, " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0' && g_hash_table_add (seen, words[i]))
      g_ptr_array_add (numbers, g_strdup (words[i]));
  return numbers;
}

/* GtkTextView has no placeholder: a dim hint shows while it is empty. */
static void
on_numbers_changed (WbTrackingsView *self,
                    GtkTextBuffer   *buffer)
{
  gtk_widget_set_visible (GTK_WIDGET (self->numbers_hint), gtk_text_buffer_get_char_count (buffer) == 0);
}

static void
set_adding (WbTrackingsView *self,
            gboolean         adding)
{
  self->adding = adding;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trackings.add", !adding && self->client != NULL);
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(WbTrackingsView) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) outcomes = wb_client_add_trackings_finish (WB_CLIENT (source), result, &error);
  GPtrArray *numbers = self->adding_numbers;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) refused = g_string_new (NULL);
  guint created = 0, existing = 0, failed = 0;

  if (outcomes == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_adding (self, FALSE);
  if (outcomes == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("The numbers cannot be added: %s"), error->message);

      gtk_label_set_text (self->added_label, message);
      gtk_widget_add_css_class (GTK_WIDGET (self->added_label), "error");
      gtk_widget_set_visible (GTK_WIDGET (self->added_label), TRUE);
      return;
    }
  for (guint i = 0; i < outcomes->len; i++)
    {
      WbClientTrackingAdded *added = g_ptr_array_index (outcomes, i);
      const char *number = numbers && added->index < numbers->len ? g_ptr_array_index (numbers, added->index) : "?";

      if (added->error_message != NULL)
        {
          failed++;
          /* Translators: a refused track number and the server's reason */
          g_string_append_printf (refused, _("\n%s: %s"), number, added->error_message);
        }
      else if (added->created)
        created++;
      else
        existing++;
    }
  /* Translators: the outcome of adding track numbers */
  g_string_printf (text, _("%u added, %u already tracked, %u refused"), created, existing, failed);
  g_string_append (text, refused->str);
  gtk_label_set_text (self->added_label, text->str);
  if (failed > 0)
    gtk_widget_add_css_class (GTK_WIDGET (self->added_label), "warning");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->added_label), "warning");
  gtk_widget_remove_css_class (GTK_WIDGET (self->added_label), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->added_label), TRUE);
  /* What was taken leaves the box; what was refused stays to be fixed. */
  if (failed == 0)
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->numbers_text), "", -1);
  reload (self);
}

static void
add_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  WbTrackingsView *self = WB_TRACKINGS_VIEW (widget);
  g_autoptr(GPtrArray) numbers = NULL;
  g_autofree char *carrier = NULL;

  if (self->client == NULL || self->adding)
    return;
  numbers = read_numbers (self);
  carrier = selected_string (self->add_carrier);
  gtk_widget_remove_css_class (GTK_WIDGET (self->added_label), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->added_label), TRUE);
  if (numbers->len == 0)
    return gtk_label_set_text (self->added_label, _("Paste or type the track numbers first"));
  if (carrier == NULL)
    return gtk_label_set_text (self->added_label, _("The server lists no carrier to track with"));
  if (numbers->len > MAX_NUMBERS)
    {
      /* Translators: %u is how many numbers one request takes */
      g_autofree char *message = g_strdup_printf (_("At most %u numbers at once"), MAX_NUMBERS);

      return gtk_label_set_text (self->added_label, message);
    }
  gtk_label_set_text (self->added_label, _("Adding…"));
  g_ptr_array_add (numbers, NULL);
  /* The outcomes name items by index; keep the numbers beside the call. */
  g_clear_pointer (&self->adding_numbers, g_ptr_array_unref);
  self->adding_numbers = g_ptr_array_ref (numbers);
  set_adding (self, TRUE);
  wb_client_add_trackings_async (self->client, carrier, (const char * const *) numbers->pdata, self->cancellable,
                                 on_added, g_object_ref (self));
}

/* ---- checking one now ------------------------------------------------------------- */

static void
on_refreshed (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(WbTrackingsView) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClientTracking) tracking = wb_client_refresh_tracking_finish (WB_CLIENT (source), result, &error);

  if (tracking == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (tracking == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Not checked now: %s"), error->message);

      show_error (self, message);
      return;
    }
  reload (self);
}

static void
refresh_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  WbTrackingsView *self = WB_TRACKINGS_VIEW (widget);

  if (self->client == NULL)
    return;
  show_error (self, NULL);
  wb_client_refresh_tracking_async (self->client, g_variant_get_int64 (parameter), self->cancellable, on_refreshed,
                                    g_object_ref (self));
}

/* ---- carriers ---------------------------------------------------------------------- */

static char *
format_limit (const WbClientCarrier *carrier)
{
  g_autofree char *rate = g_strdup_printf ("%g", carrier->rate);

  gulong n = carrier->rate == 1 ? 1 : 2;

  if (carrier->daily_quota > 0)
    /* Translators: a carrier's limits: requests a second (a decimal), burst, a quota per UTC day */
    return g_strdup_printf (ngettext ("%s request a second, bursts of %u, %u a day",
                                      "%s requests a second, bursts of %u, %u a day", n),
                            rate, carrier->burst, carrier->daily_quota);
  /* Translators: a carrier's limits: requests a second (a decimal) and burst */
  return g_strdup_printf (ngettext ("%s request a second, bursts of %u", "%s requests a second, bursts of %u", n),
                          rate, carrier->burst);
}

static char *
format_breaker (const WbClientCarrier *carrier)
{
  g_autofree char *until = NULL;

  if (g_strcmp0 (carrier->breaker, "open") == 0)
    {
      until = wb_shipment_format_time (carrier->breaker_open_until);
      /* Translators: the circuit breaker is open (calls stopped) until a time */
      return g_strdup_printf (_("Open: calls stopped after failures, until %s"), until);
    }
  if (g_strcmp0 (carrier->breaker, "half-open") == 0)
    return g_strdup (_("Half-open: one probe call decides"));
  return g_strdup (_("Closed: calls go through"));
}

static GtkWidget *
info_row (const char *name,
          const char *title,
          const char *value)
{
  GtkWidget *row = adw_action_row_new ();

  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), value);
  return row;
}

static GtkWidget *
carrier_group (const WbClientCarrier *carrier)
{
  GtkWidget *group = adw_preferences_group_new ();
  g_autofree char *limit = format_limit (carrier);
  g_autofree char *description = g_strdup_printf ("%s · %s", carrier->driver ?: "?", limit);
  g_autofree char *name = g_strdup_printf ("carrier-%s", carrier->code);

  gtk_widget_set_name (group, name);
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), carrier->code);
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), description);
  if (carrier->has_requests && carrier->last_hour != NULL)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *chart = wb_carrier_chart_new ();
      g_autofree char *ok = g_strdup_printf ("%" G_GUINT64_FORMAT, carrier->ok);
      g_autofree char *throttled = g_strdup_printf ("%" G_GUINT64_FORMAT, carrier->throttled);
      g_autofree char *failed = g_strdup_printf ("%" G_GUINT64_FORMAT, carrier->failed);
      /* Translators: requests since the daemon started, by outcome, and
       * the seconds spent waiting for permits */
      g_autofree char *totals = g_strdup_printf (_("%s answered, %s throttled, %s failed; %.1f s waiting for permits"),
                                                 ok, throttled, failed, carrier->permit_wait_s);

      gtk_widget_set_name (row, "last-hour");
      gtk_widget_set_name (chart, "chart");
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Requests, the last hour"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), totals);
      wb_carrier_chart_set_minutes (WB_CARRIER_CHART (chart), carrier->last_hour);
      gtk_widget_set_hexpand (chart, TRUE);
      gtk_widget_set_margin_top (chart, 6);
      gtk_widget_set_margin_bottom (chart, 6);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), chart);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
    }
  else
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group),
                               info_row ("last-hour", _("Requests, the last hour"),
                                         _("Not counted here: this server runs no carrier workers")));
  if (carrier->has_limits)
    {
      g_autofree char *quota = NULL;
      g_autofree char *breaker = format_breaker (carrier);
      g_autofree char *used = g_strdup_printf ("%" G_GINT64_FORMAT, carrier->quota_used_today);
      g_autofree char *left = g_strdup_printf ("%" G_GINT64_FORMAT, carrier->quota_left_today);

      if (carrier->quota_left_today >= 0)
        /* Translators: a carrier's daily quota: used and left today (UTC) */
        quota = g_strdup_printf (_("%s used, %s left today (UTC)"), used, left);
      else
        /* Translators: a carrier without a daily quota: requests today */
        quota = g_strdup_printf (_("%s used today; no daily quota"), used);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), info_row ("quota", _("Quota"), quota));
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), info_row ("breaker", _("Breaker"), breaker));
      if (carrier->blocked_until > g_get_real_time ())
        {
          g_autofree char *until = wb_shipment_format_time (carrier->blocked_until);
          /* Translators: the carrier answered 429; no calls until a time */
          g_autofree char *blocked = g_strdup_printf (_("The carrier asked to wait (429): no calls until %s"), until);
          GtkWidget *row = info_row ("blocked", _("Throttled"), blocked);

          gtk_widget_add_css_class (row, "warning");
          adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
        }
    }
  return group;
}

static void
show_carriers (WbTrackingsView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->carriers_box))) != NULL)
    gtk_box_remove (self->carriers_box, child);
  for (guint i = 0; self->carriers != NULL && i < self->carriers->len; i++)
    gtk_box_append (self->carriers_box, carrier_group (g_ptr_array_index (self->carriers, i)));
  if (self->carriers != NULL && self->carriers->len == 0)
    {
      GtkWidget *page = adw_status_page_new ();

      adw_status_page_set_title (ADW_STATUS_PAGE (page), _("No Carriers"));
      adw_status_page_set_description (ADW_STATUS_PAGE (page), _("The server's carriers file lists none"));
      gtk_box_append (self->carriers_box, page);
    }
}

/* The pickers keep what was picked while the carriers are read again. */
static void
fill_carrier_pickers (WbTrackingsView *self)
{
  g_autofree char *add = selected_string (self->add_carrier);
  guint filter = gtk_drop_down_get_selected (self->carrier_filter);
  g_autofree char *filtered = filter != GTK_INVALID_LIST_POSITION && filter > 0
                              ? selected_string (self->carrier_filter) : NULL;
  guint n = self->carriers->len;
  guint add_at = 0, filter_at = 0;
  gboolean same = g_list_model_get_n_items (G_LIST_MODEL (self->carrier_codes)) == n;

  for (guint i = 0; same && i < n; i++)
    same = g_str_equal (gtk_string_list_get_string (self->carrier_codes, i),
                        ((WbClientCarrier *) g_ptr_array_index (self->carriers, i))->code);
  if (same)
    return;
  g_signal_handlers_block_by_func (self->carrier_filter, on_filter_changed, self);
  gtk_string_list_splice (self->carrier_codes, 0, g_list_model_get_n_items (G_LIST_MODEL (self->carrier_codes)), NULL);
  gtk_string_list_splice (self->carrier_filters, 1,
                          g_list_model_get_n_items (G_LIST_MODEL (self->carrier_filters)) - 1, NULL);
  for (guint i = 0; i < n; i++)
    {
      const char *code = ((WbClientCarrier *) g_ptr_array_index (self->carriers, i))->code;

      gtk_string_list_append (self->carrier_codes, code);
      gtk_string_list_append (self->carrier_filters, code);
      if (g_strcmp0 (code, add) == 0)
        add_at = i;
      if (g_strcmp0 (code, filtered) == 0)
        filter_at = i + 1;
    }
  gtk_drop_down_set_selected (self->add_carrier, add_at);
  gtk_drop_down_set_selected (self->carrier_filter, filter_at);
  g_signal_handlers_unblock_by_func (self->carrier_filter, on_filter_changed, self);
}

static void
on_carriers (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(WbTrackingsView) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) carriers = wb_client_list_carriers_finish (WB_CLIENT (source), result, &error);

  if (carriers == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (carriers == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("The carriers cannot be read: %s"), error->message);

      show_error (self, message);
      return;
    }
  g_clear_pointer (&self->carriers, g_ptr_array_unref);
  self->carriers = g_steal_pointer (&carriers);
  fill_carrier_pickers (self);
  show_carriers (self);
}

void
wb_trackings_view_reload_carriers (WbTrackingsView *self)
{
  g_return_if_fail (WB_IS_TRACKINGS_VIEW (self));

  if (self->client != NULL)
    wb_client_list_carriers_async (self->client, self->cancellable, on_carriers, g_object_ref (self));
}

static gboolean
carriers_tick (gpointer data)
{
  wb_trackings_view_reload_carriers (data);
  return G_SOURCE_CONTINUE;
}

/* The carriers page reads its figures again while it shows, and only then. */
static void
on_page_changed (WbTrackingsView *self)
{
  gboolean carriers = g_strcmp0 (gtk_stack_get_visible_child_name (self->pages), "carriers") == 0
                      && gtk_widget_get_mapped (GTK_WIDGET (self));

  g_clear_handle_id (&self->carriers_source, g_source_remove);
  if (!carriers)
    return;
  wb_trackings_view_reload_carriers (self);
  self->carriers_source = g_timeout_add_seconds (CARRIERS_INTERVAL_S, carriers_tick, self);
}

/* ---- the widget ------------------------------------------------------------------ */

static void
fill_statuses (WbTrackingsView *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  const char * const *statuses = wb_shipment_format_statuses ();

  gtk_string_list_append (labels, _("Any status"));
  gtk_string_list_append (labels, _("Not checked yet"));
  for (guint i = 0; statuses[i] != NULL; i++)
    gtk_string_list_append (labels, wb_shipment_format_status (statuses[i]));
  gtk_drop_down_set_model (self->status_filter, G_LIST_MODEL (labels));
}

static void
wb_trackings_view_map (GtkWidget *widget)
{
  WbTrackingsView *self = WB_TRACKINGS_VIEW (widget);

  GTK_WIDGET_CLASS (wb_trackings_view_parent_class)->map (widget);
  on_page_changed (self);
  /* Shown again: what changed meanwhile. */
  if (self->results != NULL && !wb_paged_model_get_loading (WB_PAGED_MODEL (self->results)))
    reload (self);
  wb_page_loader_check (self->loader);
  g_clear_handle_id (&self->list_source, g_source_remove);
  self->list_source = g_timeout_add_seconds (LIST_INTERVAL_S, list_tick, self);
}

static void
wb_trackings_view_unmap (GtkWidget *widget)
{
  g_clear_handle_id (&WB_TRACKINGS_VIEW (widget)->carriers_source, g_source_remove);
  g_clear_handle_id (&WB_TRACKINGS_VIEW (widget)->list_source, g_source_remove);
  GTK_WIDGET_CLASS (wb_trackings_view_parent_class)->unmap (widget);
}

static void
wb_trackings_view_dispose (GObject *object)
{
  WbTrackingsView *self = WB_TRACKINGS_VIEW (object);
  GtkWidget *child;

  g_clear_object (&self->loader);
  g_clear_handle_id (&self->carriers_source, g_source_remove);
  g_clear_handle_id (&self->list_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->results != NULL)
    g_signal_handlers_disconnect_by_data (self->results, self);
  g_clear_object (&self->results);
  g_clear_object (&self->client);
  g_clear_pointer (&self->carriers, g_ptr_array_unref);
  g_clear_pointer (&self->adding_numbers, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_TRACKINGS_VIEW);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->carrier_codes);
  g_clear_object (&self->carrier_filters);
  G_OBJECT_CLASS (wb_trackings_view_parent_class)->dispose (object);
}

static void
wb_trackings_view_class_init (WbTrackingsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_trackings_view_dispose;
  widget_class->map = wb_trackings_view_map;
  widget_class->unmap = wb_trackings_view_unmap;

  gtk_widget_class_install_action (widget_class, "trackings.add", NULL, add_action);
  gtk_widget_class_install_action (widget_class, "trackings.reload", NULL, reload_action);
  gtk_widget_class_install_action (widget_class, "trackings.refresh", "x", refresh_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "trackings.reload", NULL);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-trackings-view.ui");
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, pages);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, numbers_text);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, numbers_hint);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, add_carrier);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, add_button);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, added_label);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, carrier_filter);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, status_filter);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, erroring_check);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, scrolled);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, count_label);
  gtk_widget_class_bind_template_child (widget_class, WbTrackingsView, carriers_box);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_page_changed);
}

static void
wb_trackings_view_init (WbTrackingsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  add_columns (self);
  fill_statuses (self);
  /* The column view's inner list speaks for the rows. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->column_view)); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_VIEW (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Trackings"), -1);
  self->carrier_codes = gtk_string_list_new (NULL);
  self->carrier_filters = gtk_string_list_new (NULL);
  gtk_string_list_append (self->carrier_filters, _("Any carrier"));
  gtk_drop_down_set_model (self->add_carrier, G_LIST_MODEL (self->carrier_codes));
  gtk_drop_down_set_model (self->carrier_filter, G_LIST_MODEL (self->carrier_filters));
  self->loader = wb_page_loader_new (self->scrolled);
  g_signal_connect_object (gtk_text_view_get_buffer (self->numbers_text), "changed", G_CALLBACK (on_numbers_changed),
                           self, G_CONNECT_SWAPPED);
  set_adding (self, FALSE);
}

GtkWidget *
wb_trackings_view_new (void)
{
  return g_object_new (WB_TYPE_TRACKINGS_VIEW, NULL);
}

void
wb_trackings_view_set_client (WbTrackingsView *self,
                              WbClient        *client)
{
  g_return_if_fail (WB_IS_TRACKINGS_VIEW (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  if (self->client == client)
    return;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_set_object (&self->client, client);
  self->cancellable = g_cancellable_new ();
  set_adding (self, FALSE);
  if (self->results != NULL)
    g_signal_handlers_disconnect_by_data (self->results, self);
  g_clear_object (&self->results);
  if (self->loader != NULL)
    wb_page_loader_set_model (self->loader, NULL);
  gtk_single_selection_set_model (self->selection, NULL);
  update_count (self);
  if (client == NULL)
    return;
  wb_trackings_view_reload_carriers (self);
  reload (self);
}

void
wb_trackings_view_set_page_size (WbTrackingsView *self,
                                 guint            page_size)
{
  g_return_if_fail (WB_IS_TRACKINGS_VIEW (self));
  self->page_size = page_size;
}

WbTrackingListModel *
wb_trackings_view_get_results (WbTrackingsView *self)
{
  g_return_val_if_fail (WB_IS_TRACKINGS_VIEW (self), NULL);
  return self->results;
}

GPtrArray *
wb_trackings_view_get_carriers (WbTrackingsView *self)
{
  g_return_val_if_fail (WB_IS_TRACKINGS_VIEW (self), NULL);
  return self->carriers;
}

void
wb_trackings_view_show_page (WbTrackingsView *self,
                             const char      *name)
{
  g_return_if_fail (WB_IS_TRACKINGS_VIEW (self));
  gtk_stack_set_visible_child_name (self->pages, name);
}
