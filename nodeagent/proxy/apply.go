package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/knftables"
)

// elementKey splits a "a . b . c" key into its parts.
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

// existing lists the chains and sets in the kernel's table, for a full sync to delete what
// it no longer wants. A missing table has none.
func existing(ctx context.Context, nft knftables.Interface) (chains, sets []string, err error) {
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

// writeTransaction fills tx with what turns the table from old into want. A nil old (the
// first sync, a periodic full sync, or after a failure) rewrites everything and deletes the
// chains and sets of staleChains/staleSets that want does not have, without ever flushing
// the table: the whole change is one transaction, so there is no moment without rules.
func writeTransaction(tx *knftables.Transaction, old, want *ruleset, staleChains, staleSets []string) {
	full := old == nil
	tx.Add(&knftables.Table{Comment: knftables.PtrTo("rules for Skiff's service proxy")})

	// 1. Objects first, so that rules and elements can refer to them.
	for _, name := range sortedKeys(want.chains) {
		if full || old.chains[name] == nil {
			tx.Add(want.chains[name].chain)
		}
	}
	for _, name := range sortedKeys(want.sets) {
		if full || old.sets[name] == nil {
			tx.Add(want.sets[name])
		}
	}
	for _, name := range sortedKeys(want.maps) {
		if full || old.maps[name] == nil {
			tx.Add(want.maps[name])
		}
	}

	// 2. Chains whose rules changed are rewritten.
	for _, name := range sortedKeys(want.chains) {
		c := want.chains[name]
		if !full {
			if o := old.chains[name]; o != nil && slices.Equal(o.rules, c.rules) {
				continue
			}
		}
		tx.Flush(&knftables.Chain{Name: name})
		for _, rule := range c.rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: rule})
		}
	}

	// 3. Set and map elements: everything on a full sync, the differences otherwise.
	for _, name := range sortedKeys(want.elements) {
		_, isMap := want.maps[name]
		elems := want.elements[name]
		if full {
			if isMap {
				tx.Flush(want.maps[name])
			} else {
				tx.Flush(want.sets[name])
			}
			for _, k := range sortedKeys(elems) {
				tx.Add(elementObj(name, isMap, k, elems[k]))
			}
			continue
		}
		prev := old.elements[name]
		for _, k := range sortedKeys(prev) {
			if v, ok := elems[k]; !ok || v != prev[k] {
				tx.Delete(elementObj(name, isMap, k, prev[k]))
			}
		}
		for _, k := range sortedKeys(elems) {
			if v, ok := prev[k]; !ok || v != elems[k] {
				tx.Add(elementObj(name, isMap, k, elems[k]))
			}
		}
	}

	// 4. Chains and sets no longer wanted: flush all first (they may refer to each other),
	// then delete.
	var goneChains, goneSets []string
	if full {
		for _, name := range staleChains {
			if want.chains[name] == nil {
				goneChains = append(goneChains, name)
			}
		}
		for _, name := range staleSets {
			if want.sets[name] == nil {
				goneSets = append(goneSets, name)
			}
		}
	} else {
		for _, name := range sortedKeys(old.chains) {
			if want.chains[name] == nil {
				goneChains = append(goneChains, name)
			}
		}
		for _, name := range sortedKeys(old.sets) {
			if want.sets[name] == nil {
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

// cleanup deletes the whole table, if it exists.
func cleanup(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	// "add" then "delete" works whether the table exists or not, without nft's "destroy"
	// (which needs nft 1.0.7 and kernel 6.3).
	tx.Add(&knftables.Table{})
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("deleting the proxy's nftables table: %w", err)
	}
	return nil
}
