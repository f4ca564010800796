package volumes

import (
	"context"
	"errors"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The node authorizer refuses a new pod's first TokenRequest until its graph has the pod's
// binding: the manager retries such refusals quietly, and reports other errors at once.
func TestTokenRetriesForbiddenQuietly(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, "reader",
		errors.New(`no relationship found between node 'vm' and this object`))
	for _, tc := range []struct {
		name      string
		failures  int
		err       error
		wantCalls int
		wantErr   bool
	}{
		{name: "refused twice, then issued", failures: 2, err: forbidden, wantCalls: 3},
		{name: "refused for longer than the retries", failures: 100, err: forbidden, wantCalls: 4, wantErr: true},
		{name: "other errors are not retried", failures: 100, err: apierrors.NewInternalError(errors.New("boom")), wantCalls: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewSimpleClientset()
			calls := 0
			c.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "token" {
					return false, nil, nil
				}
				calls++
				if calls <= tc.failures {
					return true, nil, tc.err
				}
				return true, &authenticationv1.TokenRequest{Status: authenticationv1.TokenRequestStatus{Token: "t",
					ExpirationTimestamp: metav1.NewTime(time.Now().Add(time.Hour))}}, nil
			})
			m := &TokenManager{Client: c, ForbiddenRetry: &wait.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 4}}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p", UID: "u"},
				Spec: corev1.PodSpec{ServiceAccountName: "reader"}}
			tok, err := m.Token(context.Background(), pod, &corev1.ServiceAccountTokenProjection{Path: "token"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && tok != "t" {
				t.Errorf("token %q", tok)
			}
			if calls != tc.wantCalls {
				t.Errorf("%d requests, want %d", calls, tc.wantCalls)
			}
		})
	}
}
