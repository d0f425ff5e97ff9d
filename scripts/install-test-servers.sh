#!/usr/bin/env bash
# Installs the real servers the storage tests start on loopback (run by `npm test`'s pretest hook):
#   - moto (S3-compatible server) from PyPI, in a venv at .cache/test-servers/venv;
#   - the MiniDFSCluster launcher (test/servers/hdfs-launcher), built with Maven from Maven Central into
#     test/servers/hdfs-launcher/target (classes + classpath.txt).
# Idempotent and fast when already installed: each part is skipped while its stamp matches its inputs.
# Needs python3 (with venv), java 17+ and mvn on PATH. SAVEPOINT_KIT_SKIP_SERVERS=1 skips everything.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"
CACHE="$ROOT/.cache/test-servers"
MOTO_VERSION="5.2.5"
mkdir -p "$CACHE"

if [[ "${SAVEPOINT_KIT_SKIP_SERVERS:-}" == "1" ]]; then
  echo "install-test-servers: SAVEPOINT_KIT_SKIP_SERVERS=1, nothing installed"
  exit 0
fi

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "install-test-servers: '$1' is not on PATH ($2)" >&2
    exit 1
  fi
}

# --- S3: moto[s3,server] in a venv --------------------------------------------------------------------
VENV="$CACHE/venv"
MOTO_STAMP="$VENV/.savepoint-kit-moto-$MOTO_VERSION"
if [[ ! -f "$MOTO_STAMP" || ! -x "$VENV/bin/moto_server" ]]; then
  need python3 "the S3 test server is moto, a Python package"
  echo "install-test-servers: installing moto $MOTO_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[s3,server]==$MOTO_VERSION"
  "$VENV/bin/moto_server" --help >/dev/null
  touch "$MOTO_STAMP"
fi

# --- HDFS: the MiniDFSCluster launcher ------------------------------------------------------------------
LAUNCHER="$ROOT/test/servers/hdfs-launcher"
TARGET="$LAUNCHER/target"
# The stamp records a hash of the launcher's sources, so an edit rebuilds it.
SRC_HASH="$(cd "$LAUNCHER" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
HDFS_STAMP="$TARGET/.savepoint-kit-$SRC_HASH"
classpath_ok() {
  [[ -f "$TARGET/classpath.txt" ]] || return 1
  local jar
  IFS=":" read -r -a jars <"$TARGET/classpath.txt" || true
  for jar in "${jars[@]}"; do [[ -f "$jar" ]] || return 1; done
}
if [[ ! -f "$HDFS_STAMP" ]] || ! classpath_ok; then
  need java "the HDFS test cluster is Hadoop's MiniDFSCluster"
  need mvn "the HDFS launcher is built with Maven"
  echo "install-test-servers: building the MiniDFSCluster launcher (Hadoop jars from Maven Central)"
  rm -rf "$TARGET"
  (cd "$LAUNCHER" && mvn -q -B -Dstyle.color=never package -DskipTests)
  classpath_ok
  touch "$HDFS_STAMP"
fi

echo "install-test-servers: ready (moto $MOTO_VERSION; MiniDFSCluster launcher in $TARGET)"
