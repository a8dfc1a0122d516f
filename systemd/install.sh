#!/usr/bin/env bash
# Install or upgrade tgfetch as a systemd service on Debian/Ubuntu. Run as root from the checkout:
#   sudo bash systemd/install.sh                      # the bot (with QUEUE_URL: the front)
#   sudo bash systemd/install.sh worker [FRONT_ENV]   # a download worker (README: "More than
#                                                     # one machine"); FRONT_ENV: a copy of the
#                                                     # front's settings file, QUEUE_URL in it
# Safe to run again: it refreshes the code, the venv and the unit, keeps the settings file and the
# data, and restarts the service if it is configured.
set -euo pipefail

ROLE=front
ENV_SRC=
case "${1:-}" in
  "") ;;
  worker) ROLE=worker; ENV_SRC=${2:-} ;;
  *) printf 'usage: sudo bash systemd/install.sh [worker [FRONT_ENV]]\n' >&2; exit 2 ;;
esac

APP_DIR=/opt/tgfetch
DATA_DIR=/var/lib/tgfetch
CONF_DIR=/etc/tgfetch
ENV_FILE=$CONF_DIR/tgfetch.env
SERVICE=tgfetch
[ "$ROLE" = worker ] && SERVICE=tgfetch-worker
UNIT=/etc/systemd/system/$SERVICE.service
SERVICE_USER=tgfetch

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (sudo bash systemd/install.sh)"
if [ ! -f "$SRC_DIR/main.py" ] || [ ! -f "$SRC_DIR/requirements.txt" ]; then
  die "run me from a tgfetch checkout ($SRC_DIR has no main.py/requirements.txt)"
fi
if [ -n "$ENV_SRC" ] && [ ! -f "$ENV_SRC" ]; then
  die "$ENV_SRC is not a file (give the front's settings file, QUEUE_URL in it)"
fi
command -v apt-get >/dev/null || die "this installer is for Debian/Ubuntu (apt-get not found)"
command -v systemctl >/dev/null || die "systemd is required"

say "installing system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv ffmpeg rsync ca-certificates \
  chromium-headless-shell fonts-dejavu-core fonts-liberation  # /pdf's browser (PDF_PAGES=off: unused)

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "tgfetch needs Python 3.11+; this system has $(python3 -V 2>&1)"

if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
  say "creating system user $SERVICE_USER"
  useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
    --shell /usr/sbin/nologin "$SERVICE_USER"
fi

say "copying the code to $APP_DIR"
install -d -m 0755 -o root -g root "$APP_DIR"
# Code stays root-owned: the daemon can read it but not rewrite it. --delete drops files removed
# upstream; excluded paths (the venv, local data, secrets) are never touched on the target.
rsync -a --delete --chown=root:root --chmod=D0755,F0644 \
  --exclude=/.venv --exclude=/data --exclude=/.git --exclude=/.env \
  --exclude=__pycache__ --exclude=.pytest_cache --exclude=.mypy_cache --exclude=.ruff_cache \
  "$SRC_DIR"/ "$APP_DIR"/

say "installing Python dependencies into $APP_DIR/.venv"
[ -x "$APP_DIR/.venv/bin/python" ] || python3 -m venv "$APP_DIR/.venv"
"$APP_DIR/.venv/bin/pip" install --quiet --disable-pip-version-check \
  -r "$APP_DIR/requirements.txt"
# The code directory is read-only at run time, so compile the bytecode now.
"$APP_DIR/.venv/bin/python" -m compileall -q "$APP_DIR/main.py" "$APP_DIR/bot" >/dev/null

install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
if [ ! -f "$ENV_FILE" ]; then
  say "creating $ENV_FILE"
  # Created 0600 so the token is never world-readable, then opened to the service group.
  if [ -n "$ENV_SRC" ]; then
    install -m 0600 -o root -g root "$ENV_SRC" "$ENV_FILE"
  elif [ -f "$SRC_DIR/.env.example" ]; then
    install -m 0600 -o root -g root "$SRC_DIR/.env.example" "$ENV_FILE"
  else
    install -m 0600 -o root -g root /dev/null "$ENV_FILE"
    printf 'BOT_TOKEN=\n' >"$ENV_FILE"
  fi
  # EnvironmentFile= overrides the unit's Environment=, so DATA_DIR must agree with it here.
  if grep -q '^[[:space:]]*DATA_DIR=' "$ENV_FILE"; then
    sed -i "s|^[[:space:]]*DATA_DIR=.*|DATA_DIR=$DATA_DIR|" "$ENV_FILE"
  fi
  chown root:"$SERVICE_USER" "$ENV_FILE"
  chmod 0640 "$ENV_FILE"
elif grep -Eq '^[[:space:]]*DATA_DIR=' "$ENV_FILE" \
  && ! grep -Eq "^[[:space:]]*DATA_DIR=[\"']?$DATA_DIR/?[\"']?[[:space:]]*$" "$ENV_FILE"; then
  say "warning: $ENV_FILE sets DATA_DIR to something other than $DATA_DIR;" \
    "the service can only write to $DATA_DIR"
fi

if [ -n "$ENV_SRC" ] && ! cmp -s "$ENV_SRC" "$ENV_FILE"; then
  say "warning: $ENV_FILE exists and was kept; it differs from $ENV_SRC"
fi

say "installing /usr/local/bin/tgfetch (tgfetch doctor, tgfetch update-ytdlp)"
# The bot's commands, run the way the service runs: its user, settings, data directory and
# sandbox (so update-ytdlp stages under DATA_DIR as it must under ProtectSystem=strict).
cat >/usr/local/bin/tgfetch <<EOF_WRAPPER
#!/bin/sh
# tgfetch doctor | tgfetch update-ytdlp [--rollback]  (installed by systemd/install.sh)
exec systemd-run --quiet --pipe --wait --collect --uid=$SERVICE_USER --gid=$SERVICE_USER \\
  -p WorkingDirectory=$APP_DIR -E DATA_DIR=$DATA_DIR -E HOME=$DATA_DIR \\
  -p EnvironmentFile=$ENV_FILE -p ProtectSystem=strict -p ReadWritePaths=$DATA_DIR \\
  -p PrivateTmp=yes -p NoNewPrivileges=yes \\
  $APP_DIR/.venv/bin/python $APP_DIR/main.py "\$@"
EOF_WRAPPER
chmod 0755 /usr/local/bin/tgfetch

say "installing the systemd unit $SERVICE"
install -m 0644 -o root -g root "$SRC_DIR/systemd/$SERVICE.service" "$UNIT"
systemctl daemon-reload

# A worker without QUEUE_URL has no jobs to take: it refuses to start.
if [ "$ROLE" = worker ] && ! grep -Eq '^[[:space:]]*QUEUE_URL=[^[:space:]]' "$ENV_FILE"; then
  cat <<EOF

The worker is installed but not started: $ENV_FILE has no QUEUE_URL.
  Add the front's:  sudoedit $ENV_FILE   (QUEUE_URL=rediss://:PASSWORD@front.example:6380/0)
  Then run:         sudo systemctl enable --now $SERVICE
EOF
  exit 0
fi

# A token from @BotFather looks like 123456789:AA...; a placeholder or an empty value does not.
if grep -Eq "^[[:space:]]*BOT_TOKEN=[\"']?[0-9]{5,}:[A-Za-z0-9_-]{30,}[\"']?[[:space:]]*$" \
  "$ENV_FILE"; then
  say "starting $SERVICE"
  systemctl enable --quiet "$SERVICE"
  systemctl restart "$SERVICE"
  if systemctl is-active --quiet "$SERVICE"; then
    say "$SERVICE is running. Logs: journalctl -u $SERVICE -f"
    say "checking the installation (tgfetch doctor):"
    /usr/local/bin/tgfetch doctor || say "doctor found a problem: see the fail lines above"
  else
    say "$SERVICE did not start; see: journalctl -u $SERVICE -n 50 --no-pager"
    exit 1
  fi
else
  cat <<EOF

tgfetch is installed but not started: $ENV_FILE has no BOT_TOKEN yet.
  1. Edit it:   sudoedit $ENV_FILE
     Set BOT_TOKEN (from @BotFather) and ADMIN_IDS (your numeric Telegram id); the other
     settings are explained in the file.
  2. Then run:  sudo systemctl enable --now $SERVICE
     (or run this installer again)
  3. Check it:  sudo tgfetch doctor   (after every upgrade too)
  4. Watch it:  journalctl -u $SERVICE -f
EOF
fi
