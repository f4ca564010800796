// Package stats is the node agent's resource statistics, what the kubelet serves on
// /stats/summary (a k8s.io/kubelet stats/v1alpha1 Summary) and /metrics/resource (Prometheus
// text with the kubelet's metric names and labels), which metrics-server and Skiff's built-in
// metrics API scrape.
//
// The node's CPU and memory come from the host (HostReader: the cgroup v2 root's cpu.stat and
// memory.stat, else /proc/stat; /proc/meminfo; the working set is usage − inactive_file, as
// cAdvisor's); pods' and containers' from the CRI runtime (ListPodSandboxStats,
// ListContainerStats, with the sandboxes and running containers that name them). The Summary
// also has the disks, as the kubelet's: nodefs (statfs of the agent's data directory), the
// runtime's image file system (CRI ImageFsInfo on its mount point's file system), containers'
// writable layers (rootfs) and log directories, pods' volumes and ephemeral storage (directory
// walks reused for DiskPeriod, a minute, as the kubelet's volume statistics), the node's network
// interfaces (/proc/net/dev, the default route's as the default), the pods' (CRI sandbox stats)
// and the node's process limit and count. Provider reads the sources; BuildSummary and
// ResourceMetrics are pure conversions, table-tested.
package stats
