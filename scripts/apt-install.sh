# Sourced by the install-*.sh scripts: `apt_install NAME PACKAGE...` installs Debian packages
# (through sudo when not root), quietly, without recommends. Returns 1 without apt-get.
apt_install() {
  local name=$1
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  echo "$name: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
