package controlplane

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/apiserver/etcd"
)

func TestCheckSharedPath(t *testing.T) {
	for _, tc := range []struct {
		path, wantErr string
	}{
		{"pki/ca.crt", ""},
		{"pki/etcd/ca.key", ""},
		{"pki/sa.key", ""},
		{"encryption-config.yaml", ""},
		{"pki/apiserver.key", "belongs to one member"},
		{"pki/etcd/member.key", "belongs to one member"},
		{"../pki/ca.crt", "unsafe"},
		{"pki/../../etc/passwd", "unsafe"},
		{"/etc/passwd", "unsafe"},
		{"pki//ca.crt", "unsafe"},
		{"kubeconfig", "not a shared"},
		{"etcd/member/wal/0.wal", "not a shared"},
		{"encryption-config.yaml.bak", "not a shared"},
	} {
		err := CheckSharedPath(tc.path)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("CheckSharedPath(%q) = %v, want %q", tc.path, err, tc.wantErr)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSharedFilesRoundTrip: the shared files are read without the member's own, and written
// into another data dir with private modes for keys.
func TestSharedFilesRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{
		"pki/ca.crt": "CA", "pki/ca.key": "CAKEY", "pki/sa.key": "SA", "pki/etcd/ca.key": "ETCDCA",
		"pki/apiserver.crt": "MINE", "pki/etcd/member.key": "MINE", "encryption-config.yaml": "ENC",
		"kubeconfig": "NOT SHARED", "etcd/member/snap/db": "NOT SHARED",
	})
	files, err := SharedFiles(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"encryption-config.yaml", "pki/ca.crt", "pki/ca.key", "pki/etcd/ca.key", "pki/sa.key"}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
		t.Fatalf("shared files %v, want %v", got, want)
	}
	if err := WriteSharedFiles(dst, files); err != nil {
		t.Fatal(err)
	}
	for rel, mode := range map[string]os.FileMode{"pki/ca.crt": 0o644, "pki/ca.key": 0o600, "encryption-config.yaml": 0o600} {
		st, err := os.Stat(filepath.Join(dst, rel))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", rel, err, st.Mode().Perm(), mode)
		}
	}
	if err := WriteSharedFiles(dst, map[string][]byte{"../escape": []byte("x")}); err == nil {
		t.Errorf("writing ../escape succeeded")
	}
}

// TestJoinHandler: only control-plane join tokens (and system:masters) receive the shared files
// and the voting members' etcd client URLs.
func TestJoinHandler(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"pki/ca.crt": "CA", "pki/ca.key": "CAKEY"})
	members := func() []etcd.Member {
		return []etcd.Member{{Name: "m1", ClientURLs: []string{"https://10.0.0.1:2379"}}, {Name: "m2", ClientURLs: []string{"https://10.0.0.2:2379"}, IsLearner: true}}
	}
	h := JoinHandler(dir, members)
	for _, tc := range []struct {
		name string
		user user.Info
		want int
	}{
		{"control-plane token", &user.DefaultInfo{Name: "system:bootstrap:abc123", Groups: []string{bootstrap.Group, bootstrap.ControlPlaneGroup}}, http.StatusOK},
		{"admin", &user.DefaultInfo{Name: "admin", Groups: []string{user.SystemPrivilegedGroup}}, http.StatusOK},
		{"node token", &user.DefaultInfo{Name: "system:bootstrap:def456", Groups: []string{bootstrap.Group, bootstrap.DefaultNodeGroup}}, http.StatusForbidden},
		{"control-plane group without being a bootstrapper", &user.DefaultInfo{Name: "mallory", Groups: []string{bootstrap.ControlPlaneGroup}}, http.StatusForbidden},
		{"node", &user.DefaultInfo{Name: "system:node:n1", Groups: []string{"system:nodes"}}, http.StatusForbidden},
		{"no user", nil, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, bootstrap.ControlPlaneJoinPath, nil)
			if tc.user != nil {
				req = req.WithContext(request.WithUser(req.Context(), tc.user))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want != http.StatusOK {
				if strings.Contains(rec.Body.String(), "CAKEY") {
					t.Fatalf("refused response carries the CA key")
				}
				return
			}
			var resp JoinResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if string(resp.Files["pki/ca.key"]) != "CAKEY" || !slices.Equal(resp.EtcdClientURLs, []string{"https://10.0.0.1:2379"}) {
				t.Errorf("response %+v", resp)
			}
		})
	}
}
