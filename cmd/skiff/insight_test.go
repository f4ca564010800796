package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/insight/history"
	"github.com/skiff-dev/skiff/apiserver/insight/why"
)

func TestRenderHistory(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 1, 2, 0, time.UTC)
	tests := []struct {
		name string
		resp history.Response
		want string
	}{
		{
			name: "created, changed, deleted",
			resp: history.Response{Group: "apps", Resource: "deployments", Namespace: "default", Name: "web", Compacted: true, Revisions: []history.Revision{
				{ResourceVersion: "10", Time: at, Manager: "kubectl-create", User: "skiff-admin", Operation: "create", Diff: "@@ line 1\n+ a: 1\n"},
				{ResourceVersion: "12", Time: at, Manager: "kubectl-set", Operation: "patch", Diff: "@@ line 1\n- a: 1\n+ a: 2\n"},
				{ResourceVersion: "13", Operation: "update status"},
				{ResourceVersion: "15", Time: at, User: "bob", Operation: "delete", Deleted: true},
			}},
			want: `deployments.apps/web in namespace default: 4 revisions
(older revisions were compacted by etcd)

RV 10  2026-12-06T05:01:02Z  manager kubectl-create  user skiff-admin  create
  @@ line 1
  + a: 1

RV 12  2026-12-06T05:01:02Z  manager kubectl-set  user ?  patch
  @@ line 1
  - a: 1
  + a: 2

RV 13  -  manager -  user ?  update status
  (no change but managedFields or resourceVersion)

RV 15  2026-12-06T05:01:02Z  manager -  user bob  delete
  (deleted)

user ?: the write was not served by this API server since it started (the user is known only there)
`,
		},
		{
			name: "cluster-scoped core",
			resp: history.Response{Resource: "nodes", Name: "n1", Revisions: []history.Revision{{ResourceVersion: "3", Time: at, Manager: "skiff", User: "system:node:n1", Operation: "create", Diff: "@@ line 1\n+ x\n"}}},
			want: "nodes/n1: 1 revisions\n\nRV 3  2026-12-06T05:01:02Z  manager skiff  user system:node:n1  create\n  @@ line 1\n  + x\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			renderHistory(&b, tc.resp)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestRenderWhy(t *testing.T) {
	var b bytes.Buffer
	renderWhy(&b, why.Response{Explanation: []string{"Pod default/p is Pending: ...", "Node n1 (NodeResourcesFit): ...", "Node n2 (TaintToleration): ..."}})
	want := "Pod default/p is Pending: ...\n  Node n1 (NodeResourcesFit): ...\n  Node n2 (TaintToleration): ...\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	renderWhy(&b, why.Response{Explanation: []string{why.DiagnosisUnavailable + ": ...", "Pod default/p is Pending: ...", "The scheduler's last FailedScheduling event: ..."}})
	want = why.DiagnosisUnavailable + ": ...\nPod default/p is Pending: ...\n  The scheduler's last FailedScheduling event: ...\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestResolveResource resolves KIND as kubectl does, against a real API server's discovery.
func TestResolveResource(t *testing.T) {
	s := apiservertest.Start(t)
	tests := []struct {
		arg, group, resource string
		namespaced           bool
	}{
		{"deploy", "apps", "deployments", true},
		{"deployment.apps", "apps", "deployments", true},
		{"deployments.v1.apps", "apps", "deployments", true},
		{"Deployment", "apps", "deployments", true},
		{"pods", "", "pods", true},
		{"po", "", "pods", true},
		{"no", "", "nodes", false},
		{"cm", "", "configmaps", true},
	}
	for _, tc := range tests {
		m, err := resolveResource(s.Client.Discovery(), tc.arg)
		if err != nil {
			t.Errorf("%s: %v", tc.arg, err)
			continue
		}
		if m.Resource.Group != tc.group || m.Resource.Resource != tc.resource || m.Resource.Version == "" ||
			(m.Scope.Name() == "namespace") != tc.namespaced {
			t.Errorf("%s: %v scope %s", tc.arg, m.Resource, m.Scope.Name())
		}
	}
	if _, err := resolveResource(s.Client.Discovery(), "nosuchkind"); err == nil {
		t.Errorf("nosuchkind resolved")
	}
}

func TestSplitKindName(t *testing.T) {
	for arg, ok := range map[string]bool{"pod/x": true, "deployment.apps/web": true, "x": false, "/x": false, "pod/": false} {
		if _, _, err := splitKindName(arg); (err == nil) != ok {
			t.Errorf("%q: %v", arg, err)
		}
	}
}
