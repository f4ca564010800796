package flowcontrol_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fcboot "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/informers"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestFlowcontrol runs flowcontrol.apiserver.k8s.io/v1 against the in-process API server: the
// bootstrap configuration, defaults, the mandatory objects' fixed spec, the status subresource,
// and the informers an aggregated API server's priority-and-fairness consumer waits for.
func TestFlowcontrol(t *testing.T) {
	// The API alone: with priority and fairness on, its config consumer writes the objects'
	// Dangling conditions beside the test's own status writes.
	s := apiservertest.StartWith(t, func(o *apiserver.Options) { o.Hardening.EnablePriorityAndFairness = false })
	fc := s.Client.FlowcontrolV1()
	ctx := context.Background()

	t.Run("bootstrap configuration", func(t *testing.T) {
		poll.Until(t, 30*time.Second, "the mandatory and suggested objects", func() error {
			for _, pl := range slices.Concat(fcboot.MandatoryPriorityLevelConfigurations, fcboot.SuggestedPriorityLevelConfigurations) {
				got, err := fc.PriorityLevelConfigurations().Get(ctx, pl.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if got.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
					return fmt.Errorf("priority level %s: annotations %v", pl.Name, got.Annotations)
				}
			}
			for _, fs := range slices.Concat(fcboot.MandatoryFlowSchemas, fcboot.SuggestedFlowSchemas) {
				if _, err := fc.FlowSchemas().Get(ctx, fs.Name, metav1.GetOptions{}); err != nil {
					return err
				}
			}
			return nil
		})
	})

	t.Run("defaults", func(t *testing.T) {
		pl, err := fc.PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{
					Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l := pl.Spec.Limited
		if *l.NominalConcurrencyShares != 30 || *l.LendablePercent != 0 || *l.LimitResponse.Queuing != (flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}) {
			t.Errorf("limited %+v, queuing %+v", l, l.LimitResponse.Queuing)
		}
		fs, err := fc.FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
			Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "team-a"},
				Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
					Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "team-a"}}},
					ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ClusterScope: true}},
				}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if fs.Spec.MatchingPrecedence != 1000 || fs.Generation != 1 {
			t.Errorf("matchingPrecedence %d, generation %d", fs.Spec.MatchingPrecedence, fs.Generation)
		}
	})

	t.Run("the mandatory objects keep their spec", func(t *testing.T) {
		fs, err := fc.FlowSchemas().Get(ctx, flowcontrolv1.FlowSchemaNameCatchAll, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fs.Spec.MatchingPrecedence = 5000
		_, err = fc.FlowSchemas().Update(ctx, fs, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec of 'catch-all' must equal the fixed value") {
			t.Errorf("changing catch-all: %v", err)
		}
		pl, err := fc.PriorityLevelConfigurations().Get(ctx, flowcontrolv1.PriorityLevelConfigurationNameExempt, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pl.Spec.Exempt.LendablePercent = new(int32(10))
		if _, err := fc.PriorityLevelConfigurations().Update(ctx, pl, metav1.UpdateOptions{}); err != nil {
			t.Errorf("the exempt level's spec.exempt may change: %v", err)
		}
	})

	t.Run("status subresource", func(t *testing.T) {
		fs, err := fc.FlowSchemas().Get(ctx, "team-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionFalse,
			Reason: "Found", LastTransitionTime: metav1.Now()}}
		fs.Spec.MatchingPrecedence = 2000 // ignored by the status endpoint
		got, err := fc.FlowSchemas().UpdateStatus(ctx, fs, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Status.Conditions) != 1 || got.Spec.MatchingPrecedence != 1000 {
			t.Errorf("after the status update: status %+v, matchingPrecedence %d", got.Status, got.Spec.MatchingPrecedence)
		}
		fs.Status.Conditions = append(fs.Status.Conditions, fs.Status.Conditions[0])
		fs.ResourceVersion = got.ResourceVersion
		if _, err := fc.FlowSchemas().UpdateStatus(ctx, fs, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
			t.Errorf("duplicate condition: %v", err)
		}
	})

	t.Run("informers sync", func(t *testing.T) {
		factory := informers.NewSharedInformerFactory(s.Client, 0)
		fsInformer := factory.Flowcontrol().V1().FlowSchemas().Informer()
		factory.Flowcontrol().V1().PriorityLevelConfigurations().Informer()
		stop := make(chan struct{})
		defer func() { close(stop); factory.Shutdown() }()
		factory.Start(stop)
		for typ, synced := range factory.WaitForCacheSync(stop) {
			if !synced {
				t.Errorf("%v did not sync", typ)
			}
		}
		if n := len(fsInformer.GetStore().List()); n < len(fcboot.MandatoryFlowSchemas)+len(fcboot.SuggestedFlowSchemas) {
			t.Errorf("%d flow schemas in the informer", n)
		}
	})
}
