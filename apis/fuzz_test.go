package apis_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/skiff-dev/skiff/apis"
	"github.com/skiff-dev/skiff/apis/validation"
)

// requestDecoders mirror how the API server decodes a request body: the media type's
// serializer (JSON, strict JSON, protobuf) converted to the internal version, with defaulting.
func requestDecoders(t testing.TB) (map[string]runtime.Decoder, runtime.Encoder) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	codecs := serializer.NewCodecFactory(scheme)
	internal := runtime.InternalGroupVersioner
	out := map[string]runtime.Decoder{}
	for _, mt := range []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf, runtime.ContentTypeYAML} {
		info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mt)
		if !ok {
			t.Fatalf("no serializer for %s", mt)
		}
		out[mt] = codecs.DecoderToVersion(info.Serializer, internal)
		if info.StrictSerializer != nil {
			out[mt+";strict"] = codecs.DecoderToVersion(info.StrictSerializer, internal)
		}
	}
	json, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return out, codecs.EncoderForVersion(json.Serializer, schema.GroupVersions{corev1.SchemeGroupVersion, appsv1.SchemeGroupVersion})
}

// FuzzDecodeRequestBody feeds arbitrary bytes to the request body decoders as a pod and as a
// deployment; whatever decodes is validated and encoded back. Nothing may panic.
func FuzzDecodeRequestBody(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`))
	f.Add([]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x","resources":{"limits":{"cpu":"1e3"}}}]}}}}`))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: y}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n"))
	f.Add([]byte("k8s\x00\n\x0b\n\x02v1\x12\x03Pod\x12\x00\x1a\x00\"\x00"))
	decoders, encoder := requestDecoders(f)
	defaults := []schema.GroupVersionKind{corev1.SchemeGroupVersion.WithKind("Pod"), appsv1.SchemeGroupVersion.WithKind("Deployment")}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range decoders {
			for i := range defaults {
				obj, _, err := dec.Decode(data, &defaults[i], nil)
				if err != nil || obj == nil {
					continue
				}
				_ = validation.ValidateCreate(obj)
				_ = validation.ValidateUpdate(obj, obj.DeepCopyObject())
				_ = validation.ValidateStatusUpdate(obj, obj.DeepCopyObject())
				var buf discard
				_ = encoder.Encode(obj, &buf)
			}
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// FuzzDecodeHorizontalPodAutoscalerV1 feeds arbitrary bytes to the request body decoders as an
// autoscaling/v1 HorizontalPodAutoscaler, so through the v1 to v2 conversion and its annotations;
// whatever decodes is validated and encoded back as v1 and v2. Nothing may panic.
func FuzzDecodeHorizontalPodAutoscalerV1(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"h","annotations":{` +
		`"autoscaling.alpha.kubernetes.io/metrics":"[{\"type\":\"Pods\",\"pods\":{\"metricName\":\"qps\",\"targetAverageValue\":\"10\"}}]",` +
		`"autoscaling.alpha.kubernetes.io/behavior":"{\"ScaleUp\":{\"StabilizationWindowSeconds\":0,\"Policies\":[{\"Type\":\"Pods\",\"Value\":4,\"PeriodSeconds\":15}]}}",` +
		`"autoscaling.alpha.kubernetes.io/current-metrics":"[{\"type\":\"External\",\"external\":{\"metricName\":\"q\",\"currentValue\":\"1\"}}]",` +
		`"autoscaling.alpha.kubernetes.io/conditions":"[{\"type\":\"AbleToScale\",\"status\":\"True\"}]"}},` +
		`"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"maxReplicas":3,"targetCPUUtilizationPercentage":50}}`))
	f.Add([]byte(`{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"h","annotations":{"autoscaling.alpha.kubernetes.io/metrics":"[{}]"}}}`))
	decoders, _ := requestDecoders(f)
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	codecs := serializer.NewCodecFactory(scheme)
	json, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	encoders := []runtime.Encoder{codecs.EncoderForVersion(json.Serializer, autoscalingv1.SchemeGroupVersion),
		codecs.EncoderForVersion(json.Serializer, autoscalingv2.SchemeGroupVersion)}
	gvk := autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range decoders {
			obj, _, err := dec.Decode(data, &gvk, nil)
			if err != nil || obj == nil {
				continue
			}
			_ = validation.ValidateCreate(obj)
			_ = validation.ValidateUpdate(obj, obj.DeepCopyObject())
			_ = validation.ValidateStatusUpdate(obj, obj.DeepCopyObject())
			for _, enc := range encoders {
				var buf discard
				_ = enc.Encode(obj, &buf)
			}
		}
	})
}
