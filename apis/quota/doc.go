// Package quota measures what objects use of a ResourceQuota, after upstream's core quota
// evaluators: pods (count and compute resources, scopes), services (count, node ports, load
// balancers), persistentvolumeclaims (count, requests.storage, both per storage class as
// <class>.storageclass.storage.k8s.io/<resource>) and object counts (configmaps, secrets, resourcequotas, replicationcontrollers,
// count/<resource>). The ResourceQuota admission plugin and the quota controller share them.
package quota
