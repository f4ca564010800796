package defaults

import "k8s.io/apimachinery/pkg/runtime"

// Default applies upstream's defaults to obj in place. Unknown types are left alone.
func Default(obj runtime.Object) {}
