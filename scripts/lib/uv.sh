# Sourced by scripts/demo and scripts/test: makes "${uv[@]}" run uv on a stock Debian with only
# Debian's Python. uv on the PATH is used as it is; otherwise uv is installed with pip into a
# private virtual environment in .tools/uv (never into the system Python: Debian refuses that,
# PEP 668), installing Debian's python3-venv first when the venv module cannot make one (as
# root, or through sudo). uv then runs the project on the system's python3 and never downloads
# a Python of its own.
UV_VERSION="0.13.8"
export UV_PYTHON_DOWNLOADS=never
# Trust the machine's CA store (/etc/ssl/certs), as apt and pip do, not only uv's built-in
# roots: an institution's TLS-inspecting proxy is trusted there.
export UV_SYSTEM_CERTS=1

_apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "error: Debian packages missing ($*) and not root: run as root, or: apt-get install $*" >&2
      exit 1
    fi
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if command -v uv >/dev/null 2>&1; then
  uv=(uv)
else
  tools=".tools/uv"
  installed="$("$tools/bin/uv" --version 2>/dev/null || true)"  # "uv 0.13.8 (x86_64-…)"
  if [ "${installed%% (*}" != "uv $UV_VERSION" ]; then
    command -v python3 >/dev/null 2>&1 || _apt_install python3
    probe="$(mktemp -d)"
    if ! python3 -m venv "$probe/venv" >/dev/null 2>&1; then
      # Debian splits venv's pip bootstrap (ensurepip) out of the standard library.
      _apt_install python3-venv
    fi
    rm -rf "$probe" "$tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  uv=("$PWD/$tools/bin/uv")
fi
