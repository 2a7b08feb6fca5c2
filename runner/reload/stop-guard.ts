/**
 * Stops and continues reload children (SIGSTOP, SIGCONT) so that a runner that dies meanwhile
 * leaves none stopped.
 *
 * Why a guard: a stopped process runs nothing until someone sends it SIGCONT, and only its runner
 * would. A runner killed with SIGKILL (a supervisor's or a harness's timeout, an IDE's stop) while
 * a standby was stopped left it stopped for good, holding the runner's stdout and stderr open, so
 * whatever read them (a `| tee`, a test harness) waited forever. The kernel continues the stopped
 * members of a process group that becomes orphaned, but a runner started by npm, a supervisor or a
 * harness shares its parent's group, which lives on. So a small shell process starts beside the
 * runner with its first reload child (one per runner): it is told each child stopped and continued,
 * and when its input closes, which the runner's death does whatever killed it, it continues those
 * still stopped; each then sees its runner gone and exits (host.ts). It ignores SIGINT, SIGTERM and
 * SIGHUP, which reach the runner's whole group. Where it cannot start (Windows, no /bin/sh), nothing
 * is stopped.
 *
 * A child whose task holds its event loop (a loop that never ends, a wait on a file never written)
 * never hears that its runner is gone, and outlived it, orphaned, for good. So the guard is told of
 * every child too, and {@link ORPHAN_GRACE_S} seconds after its input closes it kills (SIGKILL)
 * those still running: enough for the others to run their close hooks and exit on their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/** How long, in seconds, the children of a runner that died have to exit on their own before the guard kills them. */
export const ORPHAN_GRACE_S = 5;

/**
 * The guard's script: `+PID` is a child stopped, `-PID` one continued; `cPID` a child started,
 * `xPID` one that exited (stopped or not). At the end of input it continues those stopped, waits
 * for the children to exit (looking every 0.1 s), and kills those still running a reload child's
 * code then (`ps` tells one from another process given a freed PID since).
 */
const GUARD_SCRIPT = `trap '' INT TERM HUP
stopped=' '
children=' '
while read -r line; do
  case $line in
    +*) stopped="$stopped\${line#+} " ;;
    -*) pid=\${line#-}
        case $stopped in *" $pid "*) stopped="\${stopped%% $pid *} \${stopped#* $pid }" ;; esac ;;
    c*) children="$children\${line#c} " ;;
    x*) pid=\${line#x}
        case $stopped in *" $pid "*) stopped="\${stopped%% $pid *} \${stopped#* $pid }" ;; esac
        case $children in *" $pid "*) children="\${children%% $pid *} \${children#* $pid }" ;; esac ;;
  esac
done
for pid in $stopped; do kill -CONT "$pid" 2>/dev/null; done
tries=$((${ORPHAN_GRACE_S} * 10))
while [ "$tries" -gt 0 ]; do
  alive=
  for pid in $children; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && exit 0
  sleep 0.1
  tries=$((tries - 1))
done
for pid in $children; do
  ps -p "$pid" -o args= 2>/dev/null | grep -q 'reload/host' && kill -KILL "$pid" 2>/dev/null
done
`;

export class StopGuard {
  private guard: ChildProcess | undefined;
  /** The guard could not start, or died: no more stops. */
  private unavailable = process.platform === 'win32';

  /** Stops process `pid` (SIGSTOP); false when it was not stopped (no guard, or no such process). */
  stop(pid: number): boolean {
    const guard = this.starts();
    if (guard === undefined) return false;
    // The guard hears of it first: a runner killed right after the stop still has it continued.
    this.tell(`+${pid}`);
    try {
      process.kill(pid, 'SIGSTOP');
      return true;
    } catch {
      this.tell(`-${pid}`);
      return false;
    }
  }

  /** Continues process `pid`, stopped by {@link stop} (SIGCONT); one already gone is only forgotten. */
  continue(pid: number): void {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone: nothing to continue.
    }
    this.tell(`-${pid}`);
  }

  /**
   * Starts the guard now, if it can start, rather than at the first {@link stop}, which comes as a
   * reload loads: a spawn holds the runner's thread 5-15 ms.
   */
  prepare(): void {
    this.starts();
  }

  /** A reload child started: should the runner die, it is killed if it has not exited by itself. */
  childStarted(pid: number): void {
    if (this.starts() !== undefined) this.tell(`c${pid}`);
  }

  /** A reload child exited: the guard forgets it, stopped or not. */
  childExited(pid: number): void {
    this.tell(`x${pid}`);
  }

  /** The guard, started now if it was not and can be. */
  private starts(): ChildProcess | undefined {
    if (this.unavailable) return undefined;
    if (this.guard !== undefined) return this.guard;
    const guard = spawn('/bin/sh', ['-c', GUARD_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
    const lost = (): void => {
      this.unavailable = true;
      this.guard = undefined;
    };
    guard.once('error', lost);
    guard.once('exit', lost);
    guard.stdin!.on('error', lost);
    // Neither keeps the runner alive: the guard ends when the runner does.
    guard.unref();
    (guard.stdin as Socket).unref();
    this.guard = guard;
    return guard;
  }

  private tell(line: string): void {
    if (this.guard !== undefined && !this.unavailable) this.guard.stdin!.write(`${line}\n`);
  }
}

/** The runner's one guard. */
export const stopGuard = new StopGuard();
