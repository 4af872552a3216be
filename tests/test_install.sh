#!/bin/sh
# tests/test_install.sh - `make install` gives a consumer what it needs.
#
#   sh tests/test_install.sh
#
# Installs into a temporary prefix and builds tests/install/consumer.c out
# of the tree against it, with pkg-config and make, and with CMake
# (find_package, and add_subdirectory on the source tree); runs the
# installed anomaly command; uninstalls and finds nothing left; does the
# same through DESTDIR staging.  Without cmake (pkg-config) the CMake
# (pkg-config) half is skipped and says so.  $CC comes from make test (default cc).
# Ends "test_install: N passed, M failed".
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
passed=0
failed=0
ok() { if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $2"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a make of its own, not a job of the make that runs the suite
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$root" "$@" > "$tmp/make.log" 2>&1 || { sed 's/^/    /' "$tmp/make.log"; return 1; }; }
quiet() { "$@" > "$tmp/step.log" 2>&1 || { sed 's/^/    /' "$tmp/step.log" | tail -20; return 1; }; }

version=$(sed -n 's/^#define ANOMALY_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' "$root/anomaly.h" | paste -sd. -)
expected="anomaly.h $version: peak at 400"
grep -q "^project(anomaly VERSION $version " "$root/CMakeLists.txt"
ok $? "CMakeLists.txt's project version is anomaly.h's ($version)"

prefix=$tmp/prefix
mk install PREFIX="$prefix"
ok $? "make install PREFIX=$prefix"
for f in include/anomaly.h include/anomaly_stats.h include/anomaly_lstm.h include/anomaly_xai.h share/pkgconfig/anomaly.pc \
         share/cmake/anomaly/anomalyConfig.cmake share/cmake/anomaly/anomalyConfigVersion.cmake; do
    [ -f "$prefix/$f" ]
    ok $? "installed $f"
done
[ -x "$prefix/bin/anomaly" ] && "$prefix/bin/anomaly" --help > /dev/null
ok $? "the installed anomaly command runs"

# pkg-config with make
cp -r "$root/tests/install" "$tmp/pc"
if command -v pkg-config > /dev/null 2>&1; then
    export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
    [ "$(pkg-config --modversion anomaly)" = "$version" ]
    ok $? "pkg-config --modversion anomaly says $version"
    quiet env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$tmp/pc" CC="$cc" && [ "$("$tmp/pc/consumer")" = "$expected" ]
    ok $? "a consumer builds with pkg-config and make against the prefix, and runs"
else
    echo "test_install: skipped the pkg-config half (pkg-config not found)"
fi

# CMake: find_package on the prefix, then add_subdirectory on the tree
if command -v cmake > /dev/null 2>&1; then
    quiet cmake -S "$root/tests/install" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="-Wall -Wextra -pedantic -Werror" &&
        quiet cmake --build "$tmp/cm" && [ "$("$tmp/cm/consumer")" = "$expected" ]
    ok $? "a consumer builds with CMake's find_package(anomaly) against the prefix, and runs"
    grep -q "^anomaly_DIR:PATH=$prefix/share/cmake/anomaly\$" "$tmp/cm/CMakeCache.txt"
    ok $? "find_package found the installed configuration"
    ! cmake -S "$root/tests/install" -B "$tmp/cm" -DANOMALY_WANT=$((${version%%.*} + 1)).0 > "$tmp/step.log" 2>&1 &&
        grep -q 'compatible with requested version' "$tmp/step.log"
    ok $? "find_package(anomaly $((${version%%.*} + 1)).0) is refused by the version file"
    quiet cmake -S "$root/tests/install" -B "$tmp/sub" -DANOMALY_SOURCE_DIR="$root" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="-Wall -Wextra -pedantic -Werror" &&
        quiet cmake --build "$tmp/sub" && [ "$("$tmp/sub/consumer")" = "$expected" ]
    ok $? "a consumer builds with CMake's add_subdirectory on the source tree, and runs"
else
    echo "test_install: skipped the CMake half (cmake not found)"
fi

mk uninstall PREFIX="$prefix" && [ -z "$(find "$prefix" -type f)" ]
ok $? "make uninstall removes every file it installed"

# DESTDIR: staged under it, configured for PREFIX alone
stage=$tmp/stage
mk install DESTDIR="$stage" PREFIX=/opt/anomaly && [ -f "$stage/opt/anomaly/include/anomaly.h" ] &&
    [ -x "$stage/opt/anomaly/bin/anomaly" ] && grep -q '^includedir=/opt/anomaly/include$' "$stage/opt/anomaly/share/pkgconfig/anomaly.pc" &&
    grep -q '"/opt/anomaly/include"' "$stage/opt/anomaly/share/cmake/anomaly/anomalyConfig.cmake" &&
    ! grep -rq "$stage" "$stage"
ok $? "make install DESTDIR=... stages the files, which name PREFIX and not DESTDIR"
mk uninstall DESTDIR="$stage" PREFIX=/opt/anomaly && [ -z "$(find "$stage" -type f)" ]
ok $? "make uninstall DESTDIR=... removes them"

echo "test_install: $passed passed, $failed failed"
[ "$failed" = 0 ]
