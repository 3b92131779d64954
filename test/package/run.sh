#!/usr/bin/env bash
# ctest's "package" test: builds the kiln .deb (cmake/Packaging.cmake), checks
# its control fields and that every package it depends on exists here, then
# unpacks it and runs the consumer project (test/consumer/run.sh) against the
# unpacked /usr, as an installed package would be used. With root, dpkg also
# checks that the package would install (--no-act).
#   run.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 source=$(cd "$2" && pwd) work=$3
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" > cpack.log) ||
  { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/kiln_*.deb)
echo "package: $(basename "$deb")"
dpkg-deb --field "$deb" Package Version Architecture Depends
dpkg-deb --contents "$deb" | awk '{print $6}' | tee "$work/contents" |
  grep -E '^\./usr/(bin/kilnc|bin/kiln-opt|share/kiln/stdlib/nn\.kiln|lib/cmake/Kiln/KilnConfig\.cmake)$' |
  sort | tee "$work/found"
[[ $(wc -l < "$work/found") == 4 ]] || { echo "FAIL: files missing from the package"; exit 1; }
for dependency in $(dpkg-deb --field "$deb" Depends | tr -d ' ' | tr ',' ' '); do
  dpkg-query -W -f='${Status}' "${dependency%%(*}" 2>/dev/null | grep -q "ok installed" ||
    { echo "FAIL: the package depends on '$dependency', which is not installed here"; exit 1; }
done
if [[ $(id -u) == 0 ]]; then
  dpkg --no-act --install "$deb" > "$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log"; echo "FAIL: dpkg would not install the package"; exit 1; }
fi
dpkg-deb --extract "$deb" "$work/root"
KILN_PREFIX="$work/root/usr" bash "$source/test/consumer/run.sh" "$build" "$source" "$work/consumer"
echo "package: ok"
