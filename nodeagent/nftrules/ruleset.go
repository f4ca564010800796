package nftrules

import (
	"crypto/sha256"
	"encoding/base32"
	"net/netip"
	"sort"

	"sigs.k8s.io/knftables"
)

// Chain is one chain a program wants: its definition and its rules in order.
type Chain struct {
	Chain *knftables.Chain
	Rules []string
}

// Ruleset is everything a program wants in its table. The fixed chains, sets and maps are in
// it too, so one diff of two rulesets says what a sync writes.
type Ruleset struct {
	Chains map[string]*Chain
	Sets   map[string]*knftables.Set
	Maps   map[string]*knftables.Map
	// Elements are the contents of the sets and maps: name -> key -> value ("" for sets).
	Elements map[string]map[string]string
}

// NewRuleset returns an empty Ruleset.
func NewRuleset() *Ruleset {
	return &Ruleset{Chains: map[string]*Chain{}, Sets: map[string]*knftables.Set{},
		Maps: map[string]*knftables.Map{}, Elements: map[string]map[string]string{}}
}

// AddChain adds (or replaces) chain c with its rules.
func (r *Ruleset) AddChain(c *knftables.Chain, rules ...string) {
	r.Chains[c.Name] = &Chain{Chain: c, Rules: rules}
}

// AddSet adds set s (empty unless elements are added).
func (r *Ruleset) AddSet(s *knftables.Set) {
	r.Sets[s.Name] = s
	if r.Elements[s.Name] == nil {
		r.Elements[s.Name] = map[string]string{}
	}
}

// AddMap adds map m (empty unless elements are added).
func (r *Ruleset) AddMap(m *knftables.Map) {
	r.Maps[m.Name] = m
	if r.Elements[m.Name] == nil {
		r.Elements[m.Name] = map[string]string{}
	}
}

// AddElement adds key (with value, "" for a set) to a set or map; a key is " . "-separated.
func (r *Ruleset) AddElement(setOrMap, key, value string) {
	m := r.Elements[setOrMap]
	if m == nil {
		m = map[string]string{}
		r.Elements[setOrMap] = m
	}
	m[key] = value
}

// Counts returns the number of rules, chains and set/map elements.
func (r *Ruleset) Counts() (rules, chains, elements int) {
	for _, c := range r.Chains {
		rules += len(c.Rules)
	}
	for _, e := range r.Elements {
		elements += len(e)
	}
	return rules, len(r.Chains), elements
}

// BaseChain is a chain on a hook.
func BaseChain(name string, t knftables.BaseChainType, hook knftables.BaseChainHook, prio string) *knftables.Chain {
	return &knftables.Chain{Name: name, Type: &t, Hook: &hook, Priority: knftables.PtrTo(knftables.BaseChainPriority(prio))}
}

// Hash is a short stable digest of s for object names (8 base32 characters).
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:8]
}

// TableName is the table "<base>-<node>" of a node's program: several Skiff nodes can share
// one machine (and its network namespace), and each programs tables of its own. Names too
// long for nft use the node name's hash.
func TableName(base, nodeName string) string {
	if nodeName == "" {
		return base
	}
	n := base + "-" + nodeName
	if len(n) > knftables.NameLengthMax {
		n = base + "-" + Hash(nodeName)
	}
	return n
}

// Name is "<prefix>-<hash>-<name>" (as upstream kube-proxy's chain names): the hash keeps
// names unique however long names are cut to nft's limit.
func Name(prefix, name string) string {
	n := prefix + "-" + Hash(name) + "-" + name
	if len(n) > knftables.NameLengthMax {
		n = n[:knftables.NameLengthMax]
	}
	return n
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Disjoint drops the prefixes contained in another (and duplicates), in a stable order:
// nft refuses overlapping intervals in one set.
func Disjoint(ps []netip.Prefix) []netip.Prefix {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Bits() != ps[j].Bits() {
			return ps[i].Bits() < ps[j].Bits()
		}
		return ps[i].Addr().Less(ps[j].Addr())
	})
	var out []netip.Prefix
	for _, p := range ps {
		covered := false
		for _, q := range out {
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr().Less(out[j].Addr()) })
	return out
}
