//! The monitoring loop both front ends run: the clock, the tick policy and the wrapped command.
//!
//! `ocrperf monitor` runs it on the main thread (with Ctrl-C and an optional command to wrap);
//! the Python `ResourceMonitor` runs it on a background thread of the training process, stopped
//! through a condition variable. What differs between them is only how they wait and where
//! interrupts come from ([`Control`]); everything else is here, once:
//!
//! - **The clock.** Fixed-rate ticks: the n-th sample is due at start + n × interval, whatever
//!   the last one took, so a slow reading does not shift every later one. With a time limit,
//!   the last sample is taken at the deadline, however long the interval (`--interval 1h
//!   --duration 1s` samples at the start and after one second).
//! - **The tick policy.** A sample that cannot be written (a full disk) ends the run with that
//!   error, after the file has been cut back to its last complete line: a monitor that went on
//!   without its file would lose every later sample silently.
//! - **The wrapped command.** It runs in its own process group, so a Ctrl-C at the terminal
//!   reaches the monitor alone; the monitor passes each signal on (SIGINT, then SIGTERM, then
//!   SIGKILL), keeps sampling until the command exits, and reports its exit code.

use std::{
    process::{Child, Command},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use metrics_schema::{DurationRange, HumanDuration};

use crate::{
    Error,
    monitor::{Monitor, Tick},
};

/// The least time between samples: `/proc` and NVML readings take a few milliseconds.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The most time between samples: one day.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The longest run with a time limit: a year (beyond it, run without a limit and stop it).
pub const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

/// How often a wrapped command is checked for its exit while waiting for the next tick.
const COMMAND_POLL: Duration = Duration::from_millis(50);

/// What the loop asks of the front end that runs it.
pub trait Control {
    /// Sleeps until `until`, or less when the run is asked to stop; returns whether it was.
    /// Not called while a command is wrapped: then the command's exit ends the run, and stop
    /// requests are passed on to it as [`Control::signals`].
    fn wait(&self, until: Instant) -> bool;

    /// How many interrupt signals (SIGINT, SIGTERM) have arrived so far; each new one is passed
    /// on to the wrapped command. Front ends without signals keep the default.
    fn signals(&self) -> u32 {
        0
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// The wrapped command's exit code (128 + the signal when a signal ended it).
    pub command_exit_code: Option<u8>,
    /// The time limit was reached while the wrapped command was still running (it is left
    /// running: the monitor only watched it).
    pub command_left_running: bool,
}

/// A command the monitor started and watches.
#[derive(Debug)]
pub struct WrappedCommand {
    child: Child,
    /// Signals passed on so far.
    forwarded: u32,
    /// The exit code, once seen.
    exited: Option<u8>,
}

impl WrappedCommand {
    /// Starts `program` with `args` in its own process group (see the module docs).
    pub fn spawn(program: &str, args: &[String]) -> Result<WrappedCommand, Error> {
        use std::os::unix::process::CommandExt as _;
        let child = Command::new(program)
            .args(args)
            .process_group(0)
            .spawn()
            .map_err(|cause| Error::Spawn { program: program.to_owned(), cause })?;
        Ok(WrappedCommand { child, forwarded: 0, exited: None })
    }

    /// The command's process id, the root of the watched process tree.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the command (SIGKILL) and reaps it: for a front end that cannot go on watching it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit code once the command has exited (128 + signal when a signal ended it).
    fn exit_code(&mut self) -> Result<Option<u8>, Error> {
        use std::os::unix::process::ExitStatusExt as _;
        if self.exited.is_none()
            && let Some(status) = self.child.try_wait().map_err(|cause| Error::Wait { cause })?
        {
            let code = status.code().or_else(|| status.signal().map(|signal| 128 + signal)).unwrap_or(1);
            self.exited = Some(u8::try_from(code).unwrap_or(1));
        }
        Ok(self.exited)
    }

    /// Passes each signal received since the last call on: the first as SIGINT, the second as
    /// SIGTERM, any later one as SIGKILL (a command that ignores two requests is stuck).
    fn forward_signals(&mut self, received: u32) {
        use nix::{sys::signal::Signal, unistd::Pid};
        for n in self.forwarded..received {
            let signal = match n {
                0 => Signal::SIGINT,
                1 => Signal::SIGTERM,
                _ => Signal::SIGKILL,
            };
            // It may have exited since it was last checked; the next check says so.
            let _ = nix::sys::signal::kill(Pid::from_raw(self.child.id() as i32), signal);
        }
        self.forwarded = self.forwarded.max(received);
    }
}

/// The time of day in milliseconds since the Unix epoch, as samples carry it.
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The sampling intervals a monitor accepts, for front ends that parse durations.
pub const INTERVALS: DurationRange = DurationRange::new(MIN_INTERVAL, MAX_INTERVAL);

/// Checks a sampling interval against [`INTERVALS`].
pub fn check_interval(interval: Duration) -> Result<Duration, Error> {
    if (MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
        Ok(interval)
    } else {
        Err(Error::Interval { interval: HumanDuration(interval) })
    }
}

/// When the `tick`-th sample (1-based) is due: fixed-rate from `started`, never after the
/// deadline.
fn due(started: Instant, interval: Duration, tick: u64, deadline: Option<Instant>) -> Instant {
    // `interval` ≤ a day and runs end within a year or by hand, so this cannot overflow in
    // practice; saturate rather than panic if a run outlives that.
    let due = interval.checked_mul(u32::try_from(tick).unwrap_or(u32::MAX)).and_then(|d| started.checked_add(d));
    let due = due.unwrap_or_else(|| started + MAX_DURATION);
    deadline.map_or(due, |deadline| due.min(deadline))
}

impl Monitor {
    /// Samples until the run is stopped ([`Control::wait`]), the wrapped command exits, or
    /// `duration` has passed, calling `on_tick` with each tick and the number of alerts firing.
    ///
    /// # Errors
    /// A sample that cannot be written ends the run with that error (see the module docs).
    pub fn run(
        &mut self,
        duration: Option<Duration>,
        mut command: Option<&mut WrappedCommand>,
        control: &dyn Control,
        on_tick: &mut dyn FnMut(&Tick, usize),
    ) -> Result<RunEnd, Error> {
        let interval = self.interval();
        let started = Instant::now();
        let deadline = duration.map(|d| started + d.min(MAX_DURATION));
        let mut exit_code = None;
        for tick_index in 1u64.. {
            let due = due(started, interval, tick_index, deadline);
            let mut stop = false;
            match command.as_deref_mut() {
                Some(command) => {
                    while Instant::now() < due {
                        exit_code = command.exit_code()?;
                        if exit_code.is_some() {
                            break;
                        }
                        command.forward_signals(control.signals());
                        std::thread::sleep(due.saturating_duration_since(Instant::now()).min(COMMAND_POLL));
                    }
                    exit_code = command.exit_code()?;
                }
                None => stop = control.wait(due),
            }
            let tick = self.tick(unix_ms())?;
            on_tick(&tick, self.active_alerts());
            let out_of_time = deadline.is_some_and(|deadline| Instant::now() >= deadline);
            if exit_code.is_some() || stop || out_of_time {
                break;
            }
        }
        let command_left_running = match command {
            Some(command) if duration.is_some() => command.exit_code()?.is_none(),
            _ => false,
        };
        Ok(RunEnd { command_exit_code: exit_code, command_left_running })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::{MonitorConfig, default_rules};

    fn monitor(interval: Duration) -> Monitor {
        let config = MonitorConfig {
            interval,
            out: None,
            rules: default_rules(),
            prometheus: None,
            pid: None,
            watched: None,
            gpu: false,
        };
        Monitor::start(config, metrics_schema::HostInfo::detect(), unix_ms()).unwrap()
    }

    /// Sleeps as asked and stops after `stop_after` waits.
    struct Waits {
        waits: AtomicU32,
        stop_after: u32,
    }

    impl Control for Waits {
        fn wait(&self, until: Instant) -> bool {
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            self.waits.fetch_add(1, Ordering::SeqCst) + 1 >= self.stop_after
        }
    }

    #[test]
    fn ticks_are_due_at_a_fixed_rate_and_never_after_the_deadline() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(due(start, second, 3, None), start + 3 * second);
        assert_eq!(due(start, Duration::from_secs(3600), 1, Some(start + second)), start + second);
        assert!(due(start, second, u64::MAX, None) > start + MAX_DURATION, "saturates, never panics");
    }

    #[test]
    fn a_stop_request_takes_one_last_sample() {
        let mut monitor = monitor(MIN_INTERVAL);
        let control = Waits { waits: AtomicU32::new(0), stop_after: 3 };
        let mut ticks = 0;
        let end = monitor.run(None, None, &control, &mut |_, _| ticks += 1).unwrap();
        assert_eq!(ticks, 3);
        assert_eq!(end, RunEnd { command_exit_code: None, command_left_running: false });
    }

    #[test]
    fn a_time_limit_ends_the_run_at_the_deadline() {
        let mut monitor = monitor(Duration::from_secs(3600));
        let control = Waits { waits: AtomicU32::new(0), stop_after: u32::MAX };
        let started = Instant::now();
        let mut ticks = 0;
        monitor.run(Some(Duration::from_millis(30)), None, &control, &mut |_, _| ticks += 1).unwrap();
        assert_eq!(ticks, 1, "one sample, at the deadline");
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn the_wrapped_commands_exit_code_ends_the_run() {
        let mut monitor = monitor(MIN_INTERVAL);
        let mut command = WrappedCommand::spawn("sh", &["-c".to_owned(), "exit 7".to_owned()]).unwrap();
        let control = Waits { waits: AtomicU32::new(0), stop_after: 1 };
        let end = monitor.run(None, Some(&mut command), &control, &mut |_, _| {}).unwrap();
        assert_eq!(end.command_exit_code, Some(7));
        assert_eq!(control.waits.load(Ordering::SeqCst), 0, "a wrapped command is waited for, not the control");
    }

    /// Two interrupts: SIGINT is trapped, SIGTERM ends it (143 = 128 + 15).
    #[test]
    fn signals_are_passed_on_to_the_wrapped_command() {
        struct Interrupted(AtomicU32);
        impl Control for Interrupted {
            fn wait(&self, _: Instant) -> bool {
                unreachable!("not called with a command")
            }
            fn signals(&self) -> u32 {
                // One more interrupt every call, up to two.
                (self.0.fetch_add(1, Ordering::SeqCst) + 1).min(2)
            }
        }
        let mut monitor = monitor(Duration::from_millis(200));
        let script = "trap '' INT; sleep 5 & wait".to_owned();
        let mut command = WrappedCommand::spawn("sh", &["-c".to_owned(), script]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let end = monitor.run(None, Some(&mut command), &Interrupted(AtomicU32::new(0)), &mut |_, _| {}).unwrap();
        assert_eq!(end.command_exit_code, Some(143));
    }

    #[test]
    fn a_time_limit_leaves_the_command_running_and_says_so() {
        let mut monitor = monitor(MIN_INTERVAL);
        let mut command = WrappedCommand::spawn("sleep", &["5".to_owned()]).unwrap();
        let control = Waits { waits: AtomicU32::new(0), stop_after: u32::MAX };
        let end = monitor.run(Some(Duration::from_millis(50)), Some(&mut command), &control, &mut |_, _| {}).unwrap();
        assert_eq!(end, RunEnd { command_exit_code: None, command_left_running: true });
        command.kill();
    }

    #[test]
    fn intervals_out_of_range_are_refused() {
        assert!(check_interval(Duration::from_millis(10)).is_ok());
        assert!(check_interval(Duration::from_secs(86_400)).is_ok());
        let err = check_interval(Duration::from_millis(5)).unwrap_err();
        assert_eq!(err.to_string(), "a sampling interval of 5ms is out of range: sample every 10ms to 1day");
    }
}
