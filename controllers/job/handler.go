package job

import (
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

type (
	handlerQueue  = workqueue.TypedRateLimitingInterface[reconcile.Request]
	handlerCreate = event.TypedCreateEvent[client.Object]
	handlerUpdate = event.TypedUpdateEvent[client.Object]
	handlerDelete = event.TypedDeleteEvent[client.Object]
)
