#!/bin/sh
# Fails unless every catalogue in LINGUAS is valid and translates every
# message that the sources listed in POTFILES.in mark today: the template is
# extracted afresh (as the waybill-pot target does), each catalogue is merged
# with it in a scratch directory and counted.
# Usage: check-translations.sh SOURCE_ROOT
set -eu

srcroot=$1
podir=$srcroot/po
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

xgettext --package-name=waybill --from-code=UTF-8 --add-comments \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --keyword=g_dgettext:2 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  -D "$srcroot" -f "$podir/POTFILES.in" -o "$scratch/waybill.pot"

total=$(msgattrib --no-wrap "$scratch/waybill.pot" | grep -c '^msgid ' || true)
# The header is an entry too.
total=$((total - 1))
echo "template: $total messages"
test "$total" -gt 0

status=0
for lang in $(sed -e 's/#.*//' "$podir/LINGUAS"); do
  po=$podir/$lang.po
  if ! test -f "$po"; then
    echo "$lang: $po is missing"
    status=1
    continue
  fi
  # Invalid catalogues (format specifiers, plural forms, header) fail here.
  if ! msgfmt --check --statistics -o /dev/null "$po"; then
    echo "$lang: msgfmt --check failed"
    status=1
    continue
  fi
  msgmerge --quiet --no-fuzzy-matching -o "$scratch/$lang.po" "$po" "$scratch/waybill.pot"
  untranslated=$(msgattrib --untranslated --no-obsolete "$scratch/$lang.po" | grep -c '^msgid ' || true)
  fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$scratch/$lang.po" | grep -c '^msgid ' || true)
  # msgattrib prints the header along with any message it selects.
  test "$untranslated" -gt 0 && untranslated=$((untranslated - 1))
  test "$fuzzy" -gt 0 && fuzzy=$((fuzzy - 1))
  echo "$lang: $((total - untranslated - fuzzy)) of $total translated, $fuzzy fuzzy, $untranslated untranslated"
  if test "$untranslated" -ne 0 || test "$fuzzy" -ne 0; then
    msgattrib --untranslated --no-obsolete "$scratch/$lang.po" | grep -A1 '^msgid ' | head -20
    status=1
  fi
done
exit $status
