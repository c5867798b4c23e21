#!/bin/sh
# translit-catalogs.sh — build the Serbian sr / sr@latin message pairs on which
# tasks/translit.c is measured (docs/transliteration.md, "Measured on catalogs").
#
# Downloads the Debian packages listed in tests/data/translit/packages.txt (or --packages)
# (apt-get download: no root, nothing installed), extracts their
# usr/share/locale/{sr,sr@latin}/LC_MESSAGES/*.mo and pairs the two translations
# of each msgid (each plural form is its own pair). Output, one pair a line:
#   package <TAB> domain <TAB> sr (Cyrillic) <TAB> sr@latin
# with \\, \t, \n, \r written as C escapes. The header and messages translated
# in only one of the two catalogs are left out; messages whose two translations
# are equal (no Serbian letter: "%s", "GNOME") are kept, since Latin -> Cyrillic
# must leave them as they are.
#
# Usage: ci/translit-catalogs.sh [--packages FILE] [OUT.tsv]   (default /tmp/translit-pairs.tsv)
#   --packages FILE  the package list (default tests/data/translit/packages.txt, the
#                    development set; tests/data/translit/packages-check.txt is the
#                    validation set, never used to develop rules)
# Then:  MRL_TRANSLIT_PAIRS=OUT.tsv ./build/tests/task_translit.t
#   (a validation set's pairs: MRL_TRANSLIT_CHECK_PAIRS=OUT.tsv)
# TRANSLIT_CACHE=DIR keeps the downloaded packages (default $TMPDIR/translit-catalogs);
# every package extracted there is paired, so use one cache per package list.
# Needs apt-get, dpkg-deb and python3. The translations are GPL/LGPL like their
# packages; the pairs are not committed (tests/data/translit/README.md).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
list=$here/tests/data/translit/packages.txt
usage() {
	cat <<'EOF'
Usage: ci/translit-catalogs.sh [--packages FILE] [OUT.tsv]
Pair the sr and sr@latin message catalogs of Debian packages into OUT.tsv
(default /tmp/translit-pairs.tsv).

Options:
  --packages FILE  package list, "name version" a line, # comments
                   (default tests/data/translit/packages.txt; the validation set
                   is tests/data/translit/packages-check.txt)
  -h, --help       show this help

Environment: TRANSLIT_CACHE=DIR download and extraction folder (default
$TMPDIR/translit-catalogs); every package extracted there is paired, so use one
folder per package list.
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--packages)
		[ $# -ge 2 ] || { echo "translit-catalogs.sh: --packages needs a file" >&2; exit 2; }
		list=$2; shift 2 ;;
	--packages=*) list=${1#--packages=}; shift ;;
	-*) echo "translit-catalogs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -le 1 ] || { echo "translit-catalogs.sh: one output file at most (see --help)" >&2; exit 2; }
[ -r "$list" ] || { echo "translit-catalogs.sh: $list: cannot read the package list" >&2; exit 2; }
case $list in /*) ;; *) list=$PWD/$list ;; esac
out=${1:-/tmp/translit-pairs.tsv}
case $out in /*) ;; *) out=$PWD/$out ;; esac
work=${TRANSLIT_CACHE:-${TMPDIR:-/tmp}/translit-catalogs}
mkdir -p "$work/deb" "$work/root"
pkgs=$(grep -v '^#' "$list" | awk 'NF {print $1 "=" $2}')
cd "$work/deb"
for p in $pkgs; do
	name=${p%%=*}
	ls "${name}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null
done
for deb in *.deb; do
	name=${deb%%_*}
	[ -d "$work/root/$name" ] || dpkg-deb -x "$deb" "$work/root/$name"
done
python3 - "$work/root" "$out" <<'PY'
import gettext, os, sys
root, out = sys.argv[1], sys.argv[2]
def esc(s):
    return s.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')
def load(path):
    with open(path, 'rb') as f:
        return gettext.GNUTranslations(f)._catalog
n = 0
with open(out, 'w', encoding='utf-8') as o:
    for pkg in sorted(os.listdir(root)):
        cyr_dir = os.path.join(root, pkg, 'usr/share/locale/sr/LC_MESSAGES')
        lat_dir = os.path.join(root, pkg, 'usr/share/locale/sr@latin/LC_MESSAGES')
        if not (os.path.isdir(cyr_dir) and os.path.isdir(lat_dir)):
            continue
        for mo in sorted(os.listdir(cyr_dir)):
            if not mo.endswith('.mo') or not os.path.exists(os.path.join(lat_dir, mo)):
                continue
            cyr, lat = load(os.path.join(cyr_dir, mo)), load(os.path.join(lat_dir, mo))
            for key in sorted(cyr, key=str):
                msgid = key[0] if isinstance(key, tuple) else key
                if msgid == '' or key not in lat:
                    continue
                c, l = cyr[key], lat[key]
                if not c or not l:
                    continue
                o.write('\t'.join([pkg, mo[:-3], esc(c), esc(l)]) + '\n')
                n += 1
print(f'{n} pairs -> {out}', file=sys.stderr)
PY
