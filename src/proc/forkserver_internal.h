/* src/proc/forkserver_internal.h — what launch.c, launch_child.c,
 * launch_server.c and forkserver.c share (private to the launcher). */
#ifndef WEFT_PROC_FORKSERVER_INTERNAL_H
#define WEFT_PROC_FORKSERVER_INTERNAL_H

#include "proc/launch.h"

/* The first message on every control socket, from the owner to the child:
 * what to run. The argument follows inline, or (when has_memfd) sits in a
 * memfd sent with the message. Never crosses the fork server. */
#define WEFT__CTL_RUN 0x1010u

typedef struct weft__run_msg {
  weft__fnref ref;
  uint64_t memory_limit;
  uint64_t size;       /* argument bytes */
  uint32_t has_memfd;
  char name[16];       /* comm, "" = unchanged */
  uint32_t reserved;
} weft__run_msg;

/* Environment variable that turns a re-executed program into a fork server
 * ("server:<fd>") or a SPAWN child ("exec:<fd>") before main. */
#define WEFT__CHILD_ENV "WEFT__CHILD"

/* ---- the registry of weft control descriptors in this process (launch.c) ----
 * Every control-socket end and the fork-server socket are listed, so a FORK
 * child can close the ones that are not its own: EOF then means what
 * launch.h promises. */
int weft__ctlreg_socketpair(int sv[2]);       /* SEQPACKET|CLOEXEC, both registered */
void weft__ctlreg_add(int fd);
void weft__ctlreg_close(int fd);              /* unregisters and closes */
void weft__ctlreg_lock(void);
void weft__ctlreg_unlock(void);
/* In a freshly forked child that held the lock: closes every registered fd
 * except keep, leaves only keep listed, and makes the lock usable again. */
void weft__ctlreg_child_reset(int keep);

/* ---- the child side (launch_child.c) ---- */
_Noreturn void weft__child_main(int ctl);

/* Sends without blocking (for signal handlers and the server's status). */
int weft__ctl_send_nowait(int fd, uint32_t kind, const void *data, size_t len);

/* ---- the fork server, owner side (forkserver.c) ---- */
/* Asks the server to fork a child on control end cend (sent, not consumed:
 * the caller still closes its copy). *pid on success. */
int weft__fs_fork(int method, int cend, pid_t *pid, char *err, size_t errlen);
/* Asks the server to signal its live child pid. 0, WEFT_EALREADY, error. */
int weft__fs_signal(pid_t pid, int sig);
/* In a FORK child: forget the parent's server (its fd is already closed). */
void weft__fs_forget(void);

/* ---- the fork server itself (launch_server.c) ---- */
_Noreturn void weft__fs_server_main(int fd, char **argv);

/* Fork server requests and its reply (private kinds on the server socket). */
enum { WEFT__FS_FORK = 1, WEFT__FS_SIGNAL = 2, WEFT__FS_REPLY = 3 };
typedef struct weft__fs_req {
  int32_t method;      /* FORK */
  int32_t pid, sig;    /* SIGNAL */
} weft__fs_req;

#endif
