package controlplane

import (
	"encoding/json"
	"net/http"
	"slices"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/apiserver/etcd"
)

// JoinResponse is what a joining member receives: the shared files (the cluster CA and its key
// among them) and the etcd client URLs of the running members.
type JoinResponse struct {
	Files          map[string][]byte `json:"files"`
	EtcdClientURLs []string          `json:"etcdClientURLs"`
}

// JoinHandler serves bootstrap.ControlPlaneJoinPath. The authorizer lets only control-plane
// join tokens reach it; the handler checks the caller again (a control-plane token, or
// system:masters), so that no broad non-resource grant can leak the CA key.
func JoinHandler(dataDir string, members func() []etcd.Member) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := request.UserFrom(r.Context())
		if !ok || !(bootstrap.IsControlPlaneJoiner(u) || slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup)) {
			http.Error(w, "forbidden: only a control-plane join token (skiff token create --control-plane) may join a control-plane member", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files, err := SharedFiles(dataDir)
		if err != nil {
			klog.FromContext(r.Context()).Error(err, "Reading the shared control-plane files")
			http.Error(w, "reading the shared control-plane files failed", http.StatusInternalServerError)
			return
		}
		resp := JoinResponse{Files: files}
		for _, m := range members() {
			if !m.IsLearner {
				resp.EtcdClientURLs = append(resp.EtcdClientURLs, m.ClientURLs...)
			}
		}
		klog.FromContext(r.Context()).Info("Handing the control-plane credentials to a joining member", "user", u.GetName())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(resp)
	})
}
