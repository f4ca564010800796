package policy_test

import (
	"context"
	"slices"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

func TestPodDisruptionBudgetStorage(t *testing.T) {
	s := apiservertest.Start(t)
	pdbs, ctx := s.Client.PolicyV1().PodDisruptionBudgets("default"), context.Background()
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}

	// Status given on create is dropped; generation starts at 1.
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:   policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: selector},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 5}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pdb.Generation != 1 || pdb.Status.DisruptionsAllowed != 0 {
		t.Errorf("created: generation %d, status %+v", pdb.Generation, pdb.Status)
	}

	// The status subresource keeps the spec; the main resource keeps the status and bumps the
	// generation on a spec change.
	pdb.Status.DisruptionsAllowed = 2
	pdb.Spec.MinAvailable = ptr.To(intstr.FromInt32(9))
	if pdb, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if pdb.Status.DisruptionsAllowed != 2 || pdb.Spec.MinAvailable.IntVal != 1 || pdb.Generation != 1 {
		t.Errorf("after a status update: generation %d, spec %v, status %+v", pdb.Generation, pdb.Spec.MinAvailable, pdb.Status)
	}
	pdb.Spec.MinAvailable = ptr.To(intstr.FromString("50%"))
	pdb.Status.DisruptionsAllowed = 7
	if pdb, err = pdbs.Update(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if pdb.Generation != 2 || pdb.Status.DisruptionsAllowed != 2 {
		t.Errorf("after a spec update: generation %d, status %+v", pdb.Generation, pdb.Status)
	}

	// Validation: minAvailable and maxUnavailable together, a negative count in status.
	_, err = pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "both"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: selector}},
		metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("minAvailable and maxUnavailable: %v", err)
	}
	pdb.Status.CurrentHealthy = -1
	if _, err := pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("negative currentHealthy: %v", err)
	}

	// Discovery: policy/v1 alone (v1beta1 Evictions are decoded, not served), and pods/eviction
	// as policy/v1 Eviction, which kubectl drain looks for.
	groups, err := s.Client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Groups {
		if g.Name == "policy" && (len(g.Versions) != 1 || g.Versions[0].Version != "v1") {
			t.Errorf("policy versions: %+v", g.Versions)
		}
	}
	core, err := s.Client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range core.APIResources {
		if r.Name == "pods/eviction" {
			found = r.Group == "policy" && r.Version == "v1" && r.Kind == "Eviction" && slices.Equal(r.Verbs, []string{"create"})
			if !found {
				t.Errorf("pods/eviction: %+v", r)
			}
		}
	}
	if !found {
		t.Errorf("no pods/eviction in core/v1 discovery")
	}
}
