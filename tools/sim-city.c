// SPDX-License-Identifier: GPL-3.0-or-later
/* The street graph. A regular grid with uneven spacing reads like a real
 * district on a map and keeps routing trivial: every intersection knows its
 * neighbours, and a vehicle picks one at each. */

#include "config.h"

#include <math.h>

#include "sim-city.h"

#define HALF_SIZE_M      2500.0
#define MIN_SPACING_M    200.0
#define MAX_SPACING_M    400.0
#define METRES_PER_DEG   111320.0

typedef struct
{
  double x;
  double y;
  guint  n_links;
  guint  links[WB_SIM_CITY_MAX_LINKS];
} Node;

struct _WbSimCity
{
  double  center_lat;
  double  center_lon;
  GArray *xs;           /* double: x of each north-south street */
  GArray *ys;           /* double: y of each east-west street */
  Node   *nodes;        /* xs->len * ys->len, row by row */
  guint   n_nodes;
};

static const struct
{
  const char *name;
  double      lat;
  double      lon;
} cities[] = {
  { "minsk", 53.9023, 27.5619 },
  { "vilnius", 54.6872, 25.2797 },
  { "warsaw", 52.2297, 21.0122 },
  { "berlin", 52.5200, 13.4050 },
};

gboolean
wb_sim_city_lookup (const char *name,
                    double     *out_lat,
                    double     *out_lon)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (cities); i++)
    if (g_ascii_strcasecmp (name, cities[i].name) == 0)
      {
        *out_lat = cities[i].lat;
        *out_lon = cities[i].lon;
        return TRUE;
      }
  return FALSE;
}

static GArray *
street_offsets (GRand *rand)
{
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (double));

  for (double at = -HALF_SIZE_M; at <= HALF_SIZE_M; at += g_rand_double_range (rand, MIN_SPACING_M, MAX_SPACING_M))
    g_array_append_val (offsets, at);
  return offsets;
}

static void
link_nodes (WbSimCity *city,
            guint      a,
            guint      b)
{
  Node *na = &city->nodes[a];
  Node *nb = &city->nodes[b];

  for (guint i = 0; i < na->n_links; i++)
    if (na->links[i] == b)
      return;
  g_assert (na->n_links < WB_SIM_CITY_MAX_LINKS && nb->n_links < WB_SIM_CITY_MAX_LINKS);
  na->links[na->n_links++] = b;
  nb->links[nb->n_links++] = a;
}

static guint
node_at (const WbSimCity *city,
         guint            column,
         guint            row)
{
  return row * city->xs->len + column;
}

/* Two avenues running south-west to north-east and one north-west to
 * south-east, from intersection to intersection. */
static void
add_avenues (WbSimCity *city)
{
  guint columns = city->xs->len;
  guint rows = city->ys->len;
  int starts[] = { 0, (int) columns / 3 };

  for (guint k = 0; k < G_N_ELEMENTS (starts); k++)
    for (guint r = 0; r + 1 < rows && starts[k] + r + 1 < columns; r++)
      link_nodes (city, node_at (city, starts[k] + r, r), node_at (city, starts[k] + r + 1, r + 1));
  for (guint r = 0; r + 1 < rows && r + 1 < columns; r++)
    link_nodes (city, node_at (city, r, rows - 1 - r), node_at (city, r + 1, rows - 2 - r));
}

WbSimCity *
wb_sim_city_new (double  center_lat,
                 double  center_lon,
                 guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  WbSimCity *city = g_new0 (WbSimCity, 1);

  g_return_val_if_fail (fabs (center_lat) < 80 && fabs (center_lon) <= 180, NULL);

  city->center_lat = center_lat;
  city->center_lon = center_lon;
  city->xs = street_offsets (rand);
  city->ys = street_offsets (rand);
  city->n_nodes = city->xs->len * city->ys->len;
  city->nodes = g_new0 (Node, city->n_nodes);
  for (guint r = 0; r < city->ys->len; r++)
    for (guint c = 0; c < city->xs->len; c++)
      {
        Node *node = &city->nodes[node_at (city, c, r)];

        node->x = g_array_index (city->xs, double, c);
        node->y = g_array_index (city->ys, double, r);
        if (c > 0)
          link_nodes (city, node_at (city, c - 1, r), node_at (city, c, r));
        if (r > 0)
          link_nodes (city, node_at (city, c, r - 1), node_at (city, c, r));
      }
  add_avenues (city);
  return city;
}

void
wb_sim_city_free (WbSimCity *city)
{
  if (city == NULL)
    return;
  g_array_unref (city->xs);
  g_array_unref (city->ys);
  g_free (city->nodes);
  g_free (city);
}

guint
wb_sim_city_get_n_nodes (const WbSimCity *city)
{
  return city->n_nodes;
}

void
wb_sim_city_get_node (const WbSimCity *city,
                      guint            node,
                      double          *out_x,
                      double          *out_y)
{
  g_assert (node < city->n_nodes);
  *out_x = city->nodes[node].x;
  *out_y = city->nodes[node].y;
}

const guint *
wb_sim_city_get_links (const WbSimCity *city,
                       guint            node,
                       guint           *out_n_links)
{
  g_assert (node < city->n_nodes);
  *out_n_links = city->nodes[node].n_links;
  return city->nodes[node].links;
}

void
wb_sim_city_to_lat_lon (const WbSimCity *city,
                        double           x,
                        double           y,
                        double          *out_lat,
                        double          *out_lon)
{
  *out_lat = city->center_lat + y / METRES_PER_DEG;
  *out_lon = city->center_lon + x / (METRES_PER_DEG * cos (city->center_lat * G_PI / 180));
}

void
wb_sim_city_get_bbox (const WbSimCity *city,
                      double          *out_south,
                      double          *out_west,
                      double          *out_north,
                      double          *out_east)
{
  const Node *first = &city->nodes[0];
  const Node *last = &city->nodes[city->n_nodes - 1];

  wb_sim_city_to_lat_lon (city, first->x, first->y, out_south, out_west);
  wb_sim_city_to_lat_lon (city, last->x, last->y, out_north, out_east);
}

void
wb_sim_city_from_lat_lon (const WbSimCity *city,
                          double           lat,
                          double           lon,
                          double          *out_x,
                          double          *out_y)
{
  *out_y = (lat - city->center_lat) * METRES_PER_DEG;
  *out_x = (lon - city->center_lon) * METRES_PER_DEG * cos (city->center_lat * G_PI / 180);
}

guint
wb_sim_city_nearest_node (const WbSimCity *city,
                          double           x,
                          double           y)
{
  guint best = 0;
  double best_d = G_MAXDOUBLE;

  for (guint i = 0; i < city->n_nodes; i++)
    {
      double d = hypot (city->nodes[i].x - x, city->nodes[i].y - y);

      if (d < best_d)
        {
          best_d = d;
          best = i;
        }
    }
  return best;
}

/* Dijkstra over street lengths; the city has a few hundred intersections,
 * so a scan for the nearest open one does. */
GArray *
wb_sim_city_route (const WbSimCity *city,
                   guint            from,
                   guint            to)
{
  g_autofree double *dist = g_new (double, city->n_nodes);
  g_autofree guint *previous = g_new (guint, city->n_nodes);
  g_autofree gboolean *done = g_new0 (gboolean, city->n_nodes);
  GArray *path = g_array_new (FALSE, FALSE, sizeof (guint));

  g_return_val_if_fail (from < city->n_nodes && to < city->n_nodes, path);

  for (guint i = 0; i < city->n_nodes; i++)
    {
      dist[i] = G_MAXDOUBLE;
      previous[i] = G_MAXUINT;
    }
  dist[from] = 0;
  for (;;)
    {
      guint at = G_MAXUINT;

      for (guint i = 0; i < city->n_nodes; i++)
        if (!done[i] && dist[i] < G_MAXDOUBLE && (at == G_MAXUINT || dist[i] < dist[at]))
          at = i;
      if (at == G_MAXUINT || at == to)
        break;
      done[at] = TRUE;
      for (guint l = 0; l < city->nodes[at].n_links; l++)
        {
          guint next = city->nodes[at].links[l];
          double d = dist[at] + hypot (city->nodes[next].x - city->nodes[at].x,
                                       city->nodes[next].y - city->nodes[at].y);

          if (d < dist[next])
            {
              dist[next] = d;
              previous[next] = at;
            }
        }
    }
  for (guint at = to; at != G_MAXUINT; at = previous[at])
    g_array_prepend_val (path, at);
  return path;
}
