// Package nftrules is what Skiff's nftables programs on a node share (the service proxy,
// nodeagent/proxy, and the NetworkPolicy enforcer, nodeagent/netpol): a Ruleset (the whole
// desired content of one table: chains with their rules, sets, maps and their elements), the
// one transaction that turns the table from one Ruleset into the next without ever flushing
// the table (Apply, WriteTransaction), the coalescing sync loop (Runner), the per-node table
// names (TableName), the host settings bridged pod traffic needs (ConfigureHost) and the
// table's removal (DeleteTable).
package nftrules
