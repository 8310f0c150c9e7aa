#define _GNU_SOURCE
#include "CLockdChild.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

static int write_end = -1;

// Async-signal-safe: write(2) to a non-blocking pipe, errno restored. A full
// pipe drops the byte; the reader is far behind only if it is stuck anyway.
static void on_signal(int number, siginfo_t *info, void *context) {
    (void)context;
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    if (info != NULL && info->si_code == SI_KERNEL) byte |= LOCKD_SIGNAL_FROM_KERNEL;
    ssize_t ignored = write(write_end, &byte, 1);
    (void)ignored;
    errno = saved;
}

int lockd_signal_pipe(const int *signals, int count) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return -1;
    if (fcntl(ends[1], F_SETFL, O_NONBLOCK) != 0) return -1;
    write_end = ends[1];
    for (int index = 0; index < count; index++) {
        struct sigaction old;
        if (sigaction(signals[index], NULL, &old) != 0) return -1;
        if (old.sa_handler == SIG_IGN && signals[index] != SIGCHLD) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_signal;
        action.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&action.sa_mask);
        if (sigaction(signals[index], &action, NULL) != 0) return -1;
    }
    return ends[0];
}

#ifdef __linux__

// The command must hear at once when `lockd exec` is gone (SIGKILL, the OOM
// killer, a crash): nobody renews its lease any more, and another holder may
// take the lock at its TTL while it still runs. Linux sends the parent-death
// signal when the *thread* that forked the child exits, not the process, and
// Swift's pool threads come and go; so every fork happens on one thread that
// is started here once and never returns.

/// One spawn, handed from a caller to the spawner thread and back.
struct spawn_request {
    const char *file;
    char *const *argv;
    char *const *envp;
    int own_group;
    pid_t pid;
    int result;
    int done;
};

static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawner_changed = PTHREAD_COND_INITIALIZER;
static struct spawn_request *spawner_pending;  // guarded by spawner_lock
static pthread_once_t spawner_once = PTHREAD_ONCE_INIT;
static int spawner_start_error;

/// Tells the parent why the child did not become the command, and ends it.
__attribute__((noreturn)) static void fail_in_child(int report) {
    int code = errno;
    ssize_t ignored = write(report, &code, sizeof code);
    (void)ignored;
    _exit(127);
}

/// In the child, between fork and exec: async-signal-safe calls only.
/// Writes exec's (or setpgid's) errno to `report` on failure.
static void become_command(const struct spawn_request *request, pid_t parent, int report) {
    // Armed first, then the parent checked: a parent gone before the prctl
    // would never send the signal. A signal sent after it stays pending
    // (every signal is blocked here) and acts once unblocked below.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail_in_child(report);
    if (getppid() != parent) _exit(127);  // nobody is left to tell
    if (request->own_group && setpgid(0, 0) != 0) fail_in_child(report);
    // The parent's handlers (the signal pipe's) must not run here, and would
    // swallow the parent-death SIGTERM: every caught signal goes back to its
    // default before the mask opens. Ignored signals stay ignored across exec,
    // as with posix_spawn — except SIGPIPE (the Swift runtime may ignore it).
    for (int number = 1; number < NSIG; number++) {
        struct sigaction old;
        if (number == SIGKILL || number == SIGSTOP || sigaction(number, NULL, &old) != 0) continue;
        if (number == SIGPIPE || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_handler = SIG_DFL;
            sigemptyset(&action.sa_mask);
            sigaction(number, &action, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvpe(request->file, request->argv, request->envp);
    fail_in_child(report);
}

/// Forks and execs on the spawner thread; returns 0 or the child's errno,
/// read from a close-on-exec pipe (end of file there: the exec succeeded).
static int spawn_here(struct spawn_request *request) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int code = errno;
        close(ends[0]);
        close(ends[1]);
        return code;
    }
    if (pid == 0) {
        close(ends[0]);
        become_command(request, parent, ends[1]);
    }
    close(ends[1]);
    int code = 0;
    ssize_t count;
    do { count = read(ends[0], &code, sizeof code); } while (count < 0 && errno == EINTR);
    close(ends[0]);
    if (count == (ssize_t)sizeof code) {
        // The child never became the command: reaped here, unseen by the caller.
        pid_t reaped;
        do { reaped = waitpid(pid, NULL, 0); } while (reaped < 0 && errno == EINTR);
        return code != 0 ? code : ECHILD;
    }
    request->pid = pid;
    return 0;
}

/// The spawner thread: takes requests one at a time, for the life of the process.
static void *spawner_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&spawner_lock);
    for (;;) {
        while (spawner_pending == NULL || spawner_pending->done) {
            pthread_cond_wait(&spawner_changed, &spawner_lock);
        }
        struct spawn_request *request = spawner_pending;
        pthread_mutex_unlock(&spawner_lock);
        int result = spawn_here(request);
        pthread_mutex_lock(&spawner_lock);
        request->result = result;
        request->done = 1;
        pthread_cond_broadcast(&spawner_changed);
    }
    return NULL;
}

static void start_spawner(void) {
    // Started with every signal blocked, which it keeps: signals for this
    // process go to other threads, and the child starts with all blocked.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attributes;
    pthread_t thread;
    spawner_start_error = pthread_attr_init(&attributes);
    if (spawner_start_error == 0) {
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        spawner_start_error = pthread_create(&thread, &attributes, spawner_main, NULL);
        pthread_attr_destroy(&attributes);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int lockd_spawn(pid_t *pid, const char *file, char *const argv[], char *const envp[], int own_group) {
    pthread_once(&spawner_once, start_spawner);
    if (spawner_start_error != 0) return spawner_start_error;
    struct spawn_request request = {file, argv, envp, own_group, 0, 0, 0};
    pthread_mutex_lock(&spawner_lock);
    // One request at a time: wait for the slot, then for the answer.
    while (spawner_pending != NULL) pthread_cond_wait(&spawner_changed, &spawner_lock);
    spawner_pending = &request;
    pthread_cond_broadcast(&spawner_changed);
    while (!request.done) pthread_cond_wait(&spawner_changed, &spawner_lock);
    spawner_pending = NULL;
    pthread_cond_broadcast(&spawner_changed);
    pthread_mutex_unlock(&spawner_lock);
    if (request.result == 0) *pid = request.pid;
    return request.result;
}

#else

// Without prctl (macOS): posix_spawn, and a command that outlives a killed
// `lockd exec` runs on unrenewed.
int lockd_spawn(pid_t *pid, const char *file, char *const argv[], char *const envp[], int own_group) {
    posix_spawnattr_t attributes;
    int result = posix_spawnattr_init(&attributes);
    if (result != 0) return result;
    // This process's threads may block signals (libdispatch's do), and a
    // spawned child inherits the spawning thread's mask.
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    // Handlers reset to the default on exec by themselves; an ignored SIGPIPE
    // (the Swift runtime's networking may set one) must not be inherited.
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (own_group) {
        posix_spawnattr_setpgroup(&attributes, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attributes, flags);
    result = posix_spawnp(pid, file, NULL, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    return result;
}

#endif

int lockd_in_terminal_foreground(void) {
    int terminal = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (terminal < 0) return 0;
    int foreground = tcgetpgrp(terminal) == getpgrp();
    close(terminal);
    return foreground;
}

void lockd_die_by_signal(int signal) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigaction(signal, &action, NULL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signal);
    pthread_sigmask(SIG_UNBLOCK, &only, NULL);
    raise(signal);
}
