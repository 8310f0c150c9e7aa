#ifndef CLOCKD_CHILD_H
#define CLOCKD_CHILD_H

#include <sys/types.h>

/// Bit set in a byte read from the signal pipe when the kernel sent the
/// signal (a terminal's Ctrl-C, a hang-up), not another process's kill(2).
#define LOCKD_SIGNAL_FROM_KERNEL 0x80

/// Makes a pipe and installs, for each of `signals`, a handler that writes the
/// signal's number (one byte, or'ed with LOCKD_SIGNAL_FROM_KERNEL) to it.
/// A signal this process was started with ignored (nohup) stays ignored.
/// Returns the pipe's read end (close-on-exec), or -1 with errno set.
int lockd_signal_pipe(const int *signals, int count);

/// Starts `file` (searched in PATH as execvp does) with `argv` and `envp`,
/// signals unblocked and SIGPIPE at its default. With `own_group`, the child
/// leads a new process group (its pid is the group id). On Linux the child
/// gets SIGTERM as soon as this process ends, however it ends (its
/// parent-death signal, armed from a thread that lives as long as the process).
/// Returns 0, or the error number (ENOENT: no such command; EACCES: not
/// executable).
int lockd_spawn(pid_t *pid, const char *file, char *const argv[], char *const envp[], int own_group);

/// Whether this process is in the foreground process group of its
/// controlling terminal (so the terminal's Ctrl-C reaches it): 1 or 0.
int lockd_in_terminal_foreground(void);

/// Ends this process with `signal` at its default action (a core dump is not
/// written): how a wrapper tells its shell that the command it ran was killed.
void lockd_die_by_signal(int signal);

#endif
