package nftrules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/knftables"
)

// elementObj is the element key (" . "-separated) with value of a set or map.
func elementObj(setOrMap string, isMap bool, key, value string) *knftables.Element {
	e := &knftables.Element{Key: strings.Split(key, " . ")}
	if isMap {
		e.Map = setOrMap
		e.Value = []string{value}
	} else {
		e.Set = setOrMap
	}
	return e
}

// Existing lists the chains and sets in the kernel's table, for a full sync to delete what
// it no longer wants. A missing table has none.
func Existing(ctx context.Context, nft knftables.Interface) (chains, sets []string, err error) {
	chains, err = nft.List(ctx, "chains")
	if err != nil && !knftables.IsNotFound(err) {
		return nil, nil, fmt.Errorf("listing chains: %w", err)
	}
	sets, err = nft.List(ctx, "sets")
	if err != nil && !knftables.IsNotFound(err) {
		return nil, nil, fmt.Errorf("listing sets: %w", err)
	}
	return chains, sets, nil
}

// Apply writes want into nft's table in one transaction: the differences from old, or
// everything (deleting the chains and sets the table has and want has not) when old is nil.
// Nothing is run when nothing changed.
func Apply(ctx context.Context, nft knftables.Interface, comment string, old, want *Ruleset) error {
	var staleChains, staleSets []string
	if old == nil {
		var err error
		if staleChains, staleSets, err = Existing(ctx, nft); err != nil {
			return err
		}
	}
	tx := nft.NewTransaction()
	WriteTransaction(tx, comment, old, want, staleChains, staleSets)
	if old != nil && tx.NumOperations() <= 1 {
		return nil // nothing changed (only the table's idempotent add)
	}
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("nftables transaction of %d operations: %w", tx.NumOperations(), err)
	}
	return nil
}

// WriteTransaction fills tx with what turns the table (whose comment is comment) from old
// into want. A nil old (the first sync, a periodic full sync, or after a failure) rewrites
// everything and deletes the chains and sets of staleChains/staleSets that want does not
// have, without ever flushing the table: the whole change is one transaction, so there is no
// moment without rules.
func WriteTransaction(tx *knftables.Transaction, comment string, old, want *Ruleset, staleChains, staleSets []string) {
	full := old == nil
	tx.Add(&knftables.Table{Comment: knftables.PtrTo(comment)})

	// 1. Objects first, so that rules and elements can refer to them.
	for _, name := range SortedKeys(want.Chains) {
		if full || old.Chains[name] == nil {
			tx.Add(want.Chains[name].Chain)
		}
	}
	for _, name := range SortedKeys(want.Sets) {
		if full || old.Sets[name] == nil {
			tx.Add(want.Sets[name])
		}
	}
	for _, name := range SortedKeys(want.Maps) {
		if full || old.Maps[name] == nil {
			tx.Add(want.Maps[name])
		}
	}

	// 2. Chains whose rules changed are rewritten.
	for _, name := range SortedKeys(want.Chains) {
		c := want.Chains[name]
		if !full {
			if o := old.Chains[name]; o != nil && slices.Equal(o.Rules, c.Rules) {
				continue
			}
		}
		tx.Flush(&knftables.Chain{Name: name})
		for _, rule := range c.Rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: rule})
		}
	}

	// 3. Set and map elements: everything on a full sync, the differences otherwise.
	for _, name := range SortedKeys(want.Elements) {
		_, isMap := want.Maps[name]
		elems := want.Elements[name]
		if full {
			if isMap {
				tx.Flush(want.Maps[name])
			} else {
				tx.Flush(want.Sets[name])
			}
			for _, k := range SortedKeys(elems) {
				tx.Add(elementObj(name, isMap, k, elems[k]))
			}
			continue
		}
		prev := old.Elements[name]
		for _, k := range SortedKeys(prev) {
			if v, ok := elems[k]; !ok || v != prev[k] {
				tx.Delete(elementObj(name, isMap, k, prev[k]))
			}
		}
		for _, k := range SortedKeys(elems) {
			if v, ok := prev[k]; !ok || v != elems[k] {
				tx.Add(elementObj(name, isMap, k, elems[k]))
			}
		}
	}

	// 4. Chains and sets no longer wanted: flush all chains first (they may refer to each
	// other and to the sets), then delete. (Maps are fixed objects of a table: never deleted.)
	var goneChains, goneSets []string
	if full {
		for _, name := range staleChains {
			if want.Chains[name] == nil {
				goneChains = append(goneChains, name)
			}
		}
		for _, name := range staleSets {
			if want.Sets[name] == nil {
				goneSets = append(goneSets, name)
			}
		}
	} else {
		for _, name := range SortedKeys(old.Chains) {
			if want.Chains[name] == nil {
				goneChains = append(goneChains, name)
			}
		}
		for _, name := range SortedKeys(old.Sets) {
			if want.Sets[name] == nil {
				goneSets = append(goneSets, name)
			}
		}
	}
	for _, name := range goneChains {
		tx.Flush(&knftables.Chain{Name: name})
	}
	for _, name := range goneChains {
		tx.Delete(&knftables.Chain{Name: name})
	}
	for _, name := range goneSets {
		tx.Delete(&knftables.Set{Name: name})
	}
}

// DeleteTable deletes nft's whole table, if it exists.
func DeleteTable(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	// "add" then "delete" works whether the table exists or not, without nft's "destroy"
	// (which needs nft 1.0.7 and kernel 6.3).
	tx.Add(&knftables.Table{})
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("deleting nftables table: %w", err)
	}
	return nil
}

// Open returns nft when set, else the system's nft on table (family ip).
func Open(nft knftables.Interface, table string) (knftables.Interface, error) {
	if nft != nil {
		return nft, nil
	}
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return nft, nil
}

// CleanupTable removes table (family ip) with the system's nft (`skiff agent --cleanup`,
// `skiff killall`).
func CleanupTable(ctx context.Context, table string) error {
	nft, err := Open(nil, table)
	if err != nil {
		return err
	}
	return DeleteTable(ctx, nft)
}

// DeleteTableOnExit deletes nft's table when a program's ctx has ended, within 10 seconds.
func DeleteTableOnExit(ctx context.Context, nft knftables.Interface) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return DeleteTable(cctx, nft)
}
