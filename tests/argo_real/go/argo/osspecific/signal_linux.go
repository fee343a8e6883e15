// Package osspecific supplies the Linux half of Argo's osspecific package, which the v4.0.5
// module zip lacks. build.sh copies this file into the build copy of the module.
package osspecific

import (
	"os"
	"syscall"
	"time"

	"github.com/argoproj/argo-workflows/v4/util/errors"
)

// Term is the signal the emissary forwards to stop its child.
var Term = syscall.SIGTERM

// CanIgnoreSignal reports the signals the emissary need not forward to its child.
func CanIgnoreSignal(s os.Signal) bool {
	return s == syscall.SIGCHLD || s == syscall.SIGURG
}

// Kill signals the process group of pid, or pid alone when it has no group.
func Kill(pid int, s syscall.Signal) error {
	if group, err := syscall.Getpgid(pid); err == nil {
		return syscall.Kill(-group, s)
	}
	return syscall.Kill(pid, s)
}

// Setpgid starts the child in a process group of its own, so Kill reaches its children.
func Setpgid(attr *syscall.SysProcAttr) {
	attr.Setpgid = true
}

// Wait reaps children until process exits and returns its exit as an errors.Exited value
// (128+signal when a signal ended it). Other children are reaped on the way, as PID 1 must.
func Wait(process *os.Process) error {
	pid := process.Pid
	if err := process.Release(); err != nil {
		return err
	}
	for {
		var status syscall.WaitStatus
		reaped, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err != nil {
			return err
		}
		if reaped == pid {
			switch {
			case status.Exited():
				return errors.NewExitErr(status.ExitStatus())
			case status.Signaled():
				return errors.NewExitErr(128 + int(status.Signal()))
			}
		}
		if reaped <= 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}
