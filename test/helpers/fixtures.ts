/** Files the integration suites install on their nodes. */

/** A sysvinit script for a `demo` service (a sleeping process with a pid file). */
export const demoInitScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          demo
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: pallet demo service
### END INIT INFO
PIDFILE=/run/demo.pid
case "$1" in
  start) start-stop-daemon --start --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 1000 ;;
  stop) start-stop-daemon --stop --pidfile $PIDFILE --remove-pidfile --oknodo ;;
  restart|reload) "$0" stop; "$0" start ;;
  status) start-stop-daemon --status --pidfile $PIDFILE ;;
  *) exit 3 ;;
esac
`;
