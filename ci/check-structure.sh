#!/bin/sh
# The shape rules of docs/architecture.md, checked: the module dependency
# rule (includes), no call cycle between
# .c files (read off the built objects), no function body over
# MAX_FN lines, no file over MAX_FILE lines (tables excepted, listed below).
# Exit 1 naming every violation; 0 and one summary line otherwise.
# Usage: ci/check-structure.sh [--warn]   (--warn: print, but exit 0)
set -eu
cd "$(dirname "$0")/.."
MAX_FN=${MAX_FN:-120}
MAX_FILE=${MAX_FILE:-1000}
# files that are data tables, not code (one per line)
TABLES="tasks/translit_tables.c"
warn_only=0
[ "${1:-}" = "--warn" ] && warn_only=1
bad=0
src=$(ls common/*.[ch] engine/*.[ch] engine/cpu/*.[ch] tasks/*.[ch] metrics/*.[ch] \
      reports/*.[ch] harness/*.[ch] records/*.[ch] tests/*.[ch] ci/*.c 2>/dev/null || true)

# 1. files over MAX_FILE lines
for f in $src; do
	case " $TABLES " in *" $f "*) continue ;; esac
	n=$(wc -l < "$f")
	if [ "$n" -gt "$MAX_FILE" ]; then
		echo "file $f: $n lines (limit $MAX_FILE)"; bad=1
	fi
done

# 1b. the dependency rule between modules (docs/architecture.md): a module's
# files include only headers of the modules listed for it.
allowed() {
	case $1 in
	common) echo "" ;;
	engine|tasks|metrics|records) echo "common" ;;
	reports) echo "common metrics" ;;
	harness) echo "common engine tasks metrics records reports" ;;
	*) echo "-" ;;
	esac
}
for f in $src; do
	m=${f%%/*}
	ok=$(allowed "$m")
	[ "$ok" = "-" ] && continue
	for dep in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
		[ "$dep" = "$m" ] && continue
		case " $ok " in *" $dep "*) ;; *)
			echo "dependency $f: includes $dep/ (module $m may include: ${ok:-nothing})"; bad=1 ;;
		esac
	done
done

# 2. functions over MAX_FN lines: a body runs from a '{' in column 0 to the
# next '}' in column 0 (the house style puts a function's braces there and
# nothing else's).
for f in $src; do
	case "$f" in *.c) ;; *) continue ;; esac
	case " $TABLES " in *" $f "*) continue ;; esac
	awk -v max="$MAX_FN" -v file="$f" '
		/^[A-Za-z_].*\(/ { sig = $0 }
		/^\{/ { start = NR; name = sig }
		/^\}/ && start { n = NR - start - 1
			if (n > max) { sub(/\(.*/, "", name); k = split(name, w, /[ *]+/)
				printf "function %s:%d %s: %d lines (limit %d)\n", file, start, w[k], n, max }
			start = 0 }' "$f"
done > /tmp/check-structure.$$
if [ -s /tmp/check-structure.$$ ]; then cat /tmp/check-structure.$$; bad=1; fi
rm -f /tmp/check-structure.$$

# 3. call cycles between .c files: a.c -> b.c when a.o uses a symbol b.o
# defines (read off the objects of $BUILD with nm); tsort names each loop.
BUILD=${BUILD:-build}
objs=$(ls $BUILD/common/*.o $BUILD/engine/*.o $BUILD/engine/cpu/*.o $BUILD/tasks/*.o \
       $BUILD/metrics/*.o $BUILD/reports/*.o $BUILD/harness/*.o $BUILD/records/*.o 2>/dev/null || true)
if [ -z "$objs" ]; then
	echo "check-structure: no objects in $BUILD/ (run make first); call cycles not checked"
else
	nm -A --defined-only $objs 2>/dev/null | awk '$2 ~ /^[TDBR]$/ { sub(/:.*/, "", $1); print $3, $1 }' \
		| sort -k1,1 > /tmp/check-structure-def.$$
	nm -A --undefined-only $objs 2>/dev/null | awk '{ sub(/:.*/, "", $1); print $NF, $1 }' \
		| sort -k1,1 > /tmp/check-structure-use.$$
	join /tmp/check-structure-use.$$ /tmp/check-structure-def.$$ \
		| awk -v b="$BUILD/" '{ u = $2; d = $3; sub(b, "", u); sub(b, "", d);
			sub(/\.o$/, ".c", u); sub(/\.o$/, ".c", d); if (u != d) print u, d }' \
		| sort -u > /tmp/check-structure-edges.$$
	cyc=$(tsort /tmp/check-structure-edges.$$ 2>&1 >/dev/null \
		| sed -n -e 's/^tsort: .*input contains a loop.*/--/p' -e 's/^tsort: //p' || true)
	rm -f /tmp/check-structure-def.$$ /tmp/check-structure-use.$$ /tmp/check-structure-edges.$$
	if [ -n "$cyc" ]; then
		echo "call cycles between .c files (loops separated by --):"
		printf '%s\n' $cyc | sed 's/^/  /'; bad=1
	fi
fi

if [ "$bad" = 0 ]; then
	echo "check-structure: ok (functions <= $MAX_FN lines, files <= $MAX_FILE lines, no call cycle, module dependencies as allowed)"
	exit 0
fi
[ "$warn_only" = 1 ] && exit 0
exit 1
