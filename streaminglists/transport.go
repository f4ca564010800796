package streaminglists

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// WrapTransport lets a streaming list that the API server refuses because its watch cache lags
// behind etcd fall back to a list at once; as a rest.Config's WrapTransport (cfg.Wrap).
//
// The API server serves a streaming list only from a watch cache at least as fresh as etcd;
// when the cache stays further behind than it waits (3 s), it answers 504 with the cause
// ResourceVersionTooLarge and "Retry-After: 1". client-go's request retries that ten times,
// and its reflector then retries the streaming list without end, for as long as the lag lasts,
// where a list (its fallback for any other error) would be served at once. Under a saturating
// load the pod cache stayed seconds behind for minutes: informers that started then never
// synced (issue 17). The wrapper rewrites that one answer, to a streaming list and to nothing
// else, into a 504 without the cause and without Retry-After, which neither retries: the
// reflector lists, and streams again at its next relist.
func WrapTransport(rt http.RoundTripper) http.RoundTripper { return listWhenCacheLags{rt} }

type listWhenCacheLags struct{ next http.RoundTripper }

// maxStatusBytes bounds what is read of a 504's body to look for the cause; a Status is a few
// hundred bytes.
const maxStatusBytes = 64 << 10

func (l listWhenCacheLags) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusGatewayTimeout || !isStreamingList(req) {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	status, ok := refusedForLag(body)
	if !ok {
		return resp, nil
	}
	// No details (the cause, the retry) and not the server's capitalized phrase either: the
	// reflector recognizes the refusal by any of them.
	status.Message = "streaming list refused, the watch cache lags behind etcd (listing instead): " +
		strings.Replace(status.Message, tooLargeMessage, strings.ToLower(tooLargeMessage), 1)
	status.Details = nil
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	out, err := json.Marshal(status)
	if err != nil {
		return resp, nil
	}
	resp.Header = resp.Header.Clone()
	resp.Header.Del("Retry-After")
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.ContentLength = int64(len(out))
	resp.Body = io.NopCloser(bytes.NewReader(out))
	return resp, nil
}

// isStreamingList tells a watch with initial events (what client-go's WatchListClient sends).
func isStreamingList(req *http.Request) bool {
	if req.Method != http.MethodGet {
		return false
	}
	q := req.URL.Query()
	watching, _ := strconv.ParseBool(q.Get("watch"))
	initial, _ := strconv.ParseBool(q.Get("sendInitialEvents"))
	return watching && initial
}

// refusedForLag decodes body (JSON or protobuf, as negotiated) and reports whether it is the
// API server's "Too large resource version" Status.
func refusedForLag(body []byte) (*metav1.Status, bool) {
	obj, _, err := statusCodecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return nil, false
	}
	status, ok := obj.(*metav1.Status)
	if !ok || status.Details == nil {
		return nil, false
	}
	for _, c := range status.Details.Causes {
		if c.Type == metav1.CauseTypeResourceVersionTooLarge {
			return status, true
		}
	}
	return nil, false
}

// tooLargeMessage begins the API server's message for the refusal (k8s.io/apiserver's
// storage.NewTooLargeResourceVersionError).
const tooLargeMessage = "Too large resource version"

// statusCodecs decode a metav1.Status in any of the API server's encodings.
var statusCodecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(scheme)
}()
