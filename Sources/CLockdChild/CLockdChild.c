#define _GNU_SOURCE
#include "CLockdChild.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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
