// Package logs is the node agent's container log manager, upstream's
// pkg/kubelet/logs/container_log_manager.go: every MonitorPeriod (10 s) it looks at the log file
// of each running container (CRI ContainerStatus's logPath, <pod logs dir>/<container>/<n>.log)
// and, once the file reaches MaxSize (containerLogMaxSize, 10Mi), rotates it: the current file is
// renamed to <file>.<timestamp> (20060102-150405, the clock's time) and the runtime asked to
// reopen it (CRI ReopenContainerLog), so the container writes a fresh <n>.log, which `kubectl
// logs` keeps reading. Older rotated files are gzipped to <file>.<timestamp>.gz, and the oldest
// are removed so that at most MaxFiles (containerLogMaxFiles, 5) files are left: the current one,
// the one just rotated (kept uncompressed for readers that still follow it) and MaxFiles-2
// compressed ones. Leftovers of an interrupted rotation (<name>.tmp files of a compression, a
// rotated file whose .gz exists) are removed first. A log file that vanished is reopened.
//
// Which files go (PlanRotation) is a pure function of the file's name, the listing of its rotated
// files, MaxFiles and the time; Manager carries it out against the file system and the runtime.
package logs
