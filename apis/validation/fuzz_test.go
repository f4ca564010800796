package validation_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/skiff-dev/skiff/apis"
	"github.com/skiff-dev/skiff/apis/validation"
)

// fuzzKinds are the kinds FuzzValidate decodes its input as.
var fuzzKinds = []schema.GroupVersionKind{
	corev1.SchemeGroupVersion.WithKind("Pod"), corev1.SchemeGroupVersion.WithKind("Service"),
	corev1.SchemeGroupVersion.WithKind("Node"), corev1.SchemeGroupVersion.WithKind("Namespace"),
	corev1.SchemeGroupVersion.WithKind("ConfigMap"), corev1.SchemeGroupVersion.WithKind("Secret"),
	corev1.SchemeGroupVersion.WithKind("Endpoints"), corev1.SchemeGroupVersion.WithKind("Event"),
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"), corev1.SchemeGroupVersion.WithKind("ResourceQuota"),
	corev1.SchemeGroupVersion.WithKind("LimitRange"), corev1.SchemeGroupVersion.WithKind("Binding"),
	appsv1.SchemeGroupVersion.WithKind("Deployment"), appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
	coordinationv1.SchemeGroupVersion.WithKind("Lease"), discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"),
	eventsv1.SchemeGroupVersion.WithKind("Event"),
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"), appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
	appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), corev1.SchemeGroupVersion.WithKind("ReplicationController"),
	corev1.SchemeGroupVersion.WithKind("PodTemplate"), policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
	networkingv1.SchemeGroupVersion.WithKind("Ingress"), networkingv1.SchemeGroupVersion.WithKind("IngressClass"),
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"),
}

// FuzzValidate decodes arbitrary JSON as one of the served kinds through the API's codecs
// (defaulting included) and runs create, update and status-update validation on it, also
// against a second decoded object as the old one. Validation must never panic.
func FuzzValidate(f *testing.F) {
	f.Add(uint8(0), []byte(`{"metadata":{"name":"p","namespace":"d"},"spec":{"containers":[{"name":"c","image":"i","env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}`), []byte(`{}`))
	f.Add(uint8(1), []byte(`{"metadata":{"name":"s","namespace":"d"},"spec":{"type":"LoadBalancer","ports":[{"port":80,"nodePort":30000}],"clusterIPs":["10.0.0.1","fd00::1"],"ipFamilies":["IPv4","IPv6"]}}`), []byte(`{"spec":{"clusterIP":"None"}}`))
	f.Add(uint8(9), []byte(`{"metadata":{"name":"q","namespace":"d"},"spec":{"hard":{"pods":"1.5","requests.cpu":"-1"},"scopes":["BestEffort","NotBestEffort"],"scopeSelector":{"matchExpressions":[{"scopeName":"PriorityClass","operator":"In"}]}}}`), []byte(`{}`))
	f.Add(uint8(10), []byte(`{"metadata":{"name":"l","namespace":"d"},"spec":{"limits":[{"type":"Container","min":{"cpu":"0"},"max":{"cpu":"0"},"maxLimitRequestRatio":{"cpu":"2"}},{"type":"Pod","default":{"cpu":"1"}}]}}`), []byte(`{}`))
	f.Add(uint8(12), []byte(`{"metadata":{"name":"d","namespace":"d"},"spec":{"replicas":-1,"selector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]},"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"200%","maxUnavailable":"x"}}}}`), []byte(`{"spec":{"selector":{}}}`))
	f.Add(uint8(15), []byte(`{"metadata":{"name":"e","namespace":"d"},"addressType":"IPv4","endpoints":[{"addresses":["1.2.3.4"],"conditions":{}}],"ports":[{"port":-1}]}`), []byte(`{}`))
	f.Add(uint8(17), []byte(`{"metadata":{"name":"ds","namespace":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"updateStrategy":{"rollingUpdate":{"maxSurge":"-5%","maxUnavailable":0}},"template":{"metadata":{"labels":{"a":"b"}}}}}`), []byte(`{"spec":{"selector":null}}`))
	f.Add(uint8(18), []byte(`{"metadata":{"name":"ss","namespace":"d"},"spec":{"serviceName":"x.y","ordinals":{"start":-1},"volumeClaimTemplates":[{"metadata":{"name":"v"},"spec":{"accessModes":["ReadWriteOncePod","ReadWriteOnce"],"dataSourceRef":{"kind":"","name":"","namespace":"N"},"dataSource":{"kind":"X"}}}],"template":{"spec":{"hostname":"h","volumes":[{"name":"v"}]}}}}`), []byte(`{"spec":{"podManagementPolicy":"Parallel"}}`))
	f.Add(uint8(19), []byte(`{"metadata":{"name":"r","namespace":"d"},"revision":-1,"data":[1,2]}`), []byte(`{"data":null}`))
	f.Add(uint8(20), []byte(`{"metadata":{"name":"rc","namespace":"d"},"spec":{"replicas":-1,"template":{"metadata":{"labels":{"a":"b"}}}}}`), []byte(`{"spec":{"template":null}}`))
	f.Add(uint8(22), []byte(`{"metadata":{"name":"p","namespace":"d"},"spec":{"minAvailable":"101%","maxUnavailable":-1,"unhealthyPodEvictionPolicy":"x"},"status":{"conditions":[{"type":""}]}}`), []byte(`{}`))
	f.Add(uint8(23), []byte(`{"metadata":{"name":"i","namespace":"d"},"spec":{"defaultBackend":{"resource":{"kind":""},"service":{"port":{}}},"rules":[{"host":"*.a","http":{"paths":[{"path":"x","pathType":"Exact","backend":{}}]}}],"tls":[{"hosts":["*"]}]},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3"}]}}}`), []byte(`{"spec":{"tls":[{"secretName":"A"}],"rules":[{"host":"*.b","http":{}}]}}`))
	f.Add(uint8(24), []byte(`{"metadata":{"name":"c"},"spec":{"controller":"x","parameters":{"kind":"K","name":"n","scope":"Namespace"}}}`), []byte(`{"spec":{"controller":"a.b/c"}}`))
	f.Add(uint8(25), []byte(`{"metadata":{"name":"n","namespace":"d"},"spec":{"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["::/0","x"]}}],"ports":[{"port":"x","endPort":1}]}],"policyTypes":["A","B","C"]}}`), []byte(`{"spec":{"egress":[{"to":[{"ipBlock":{"cidr":"1.2.3.4/40"}}]}]}}`))

	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	codecs := serializer.NewCodecFactory(scheme)
	info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	dec := codecs.DecoderToVersion(info.Serializer, runtime.InternalGroupVersioner)
	f.Fuzz(func(t *testing.T, kind uint8, data, oldData []byte) {
		gvk := fuzzKinds[int(kind)%len(fuzzKinds)]
		obj, _, err := dec.Decode(data, &gvk, nil)
		if err != nil || obj == nil {
			return
		}
		_ = validation.ValidateCreate(obj)
		_ = validation.ValidateUpdate(obj, obj.DeepCopyObject())
		_ = validation.ValidateStatusUpdate(obj, obj.DeepCopyObject())
		old, _, err := dec.Decode(oldData, &gvk, nil)
		if err != nil || old == nil {
			return
		}
		_ = validation.ValidateUpdate(obj, old)
		_ = validation.ValidateStatusUpdate(obj, old)
		_ = validation.ValidateUpdate(old, obj)
	})
}
