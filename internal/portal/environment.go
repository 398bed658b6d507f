package portal

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// Node is one management group of the environment tree with the groups
// and subscriptions directly below it.
type Node struct {
	ID            string
	Name          string
	DisplayName   string
	Groups        []*Node
	Subscriptions []Subscription
}

// Subscription is a subscription as the portal lists it.
type Subscription struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state"`
	ManagementGrp  string `json:"managementGroupId"`
}

// subscriptions lists the subscriptions the user can read.
func (p *Portal) subscriptions(r *http.Request) ([]Subscription, error) {
	raw, err := p.listAll(r, "/subscriptions?api-version=2022-12-01", 50)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(raw))
	for _, m := range raw {
		var s Subscription
		if err := json.Unmarshal(m, &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].DisplayName) < strings.ToLower(out[j].DisplayName) })
	return out, nil
}

type envData struct {
	Roots []*Node
	// Loose are readable subscriptions whose group the user cannot read.
	Loose []Subscription
}

// environment renders the tree of management groups and subscriptions
// the user can read.
func (p *Portal) environment(w http.ResponseWriter, r *http.Request) error {
	raw, err := p.listAll(r, "/providers/Microsoft.Management/managementGroups?api-version=2021-04-01", 50)
	if err != nil {
		return err
	}
	nodes := map[string]*Node{}
	parent := map[string]string{}
	for _, m := range raw {
		var g struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			Properties struct {
				DisplayName string `json:"displayName"`
				Details     struct {
					Parent *struct {
						ID string `json:"id"`
					} `json:"parent"`
				} `json:"details"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(m, &g); err != nil {
			return err
		}
		id := strings.ToLower(g.ID)
		nodes[id] = &Node{ID: g.ID, Name: g.Name, DisplayName: g.Properties.DisplayName}
		if g.Properties.Details.Parent != nil {
			parent[id] = strings.ToLower(g.Properties.Details.Parent.ID)
		}
	}
	data := &envData{}
	for id, n := range nodes {
		if pn := nodes[parent[id]]; pn != nil {
			pn.Groups = append(pn.Groups, n)
		} else {
			data.Roots = append(data.Roots, n)
		}
	}
	subs, err := p.subscriptions(r)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if n := nodes[strings.ToLower(s.ManagementGrp)]; n != nil {
			n.Subscriptions = append(n.Subscriptions, s)
		} else {
			data.Loose = append(data.Loose, s)
		}
	}
	var sortNodes func([]*Node)
	sortNodes = func(ns []*Node) {
		sort.Slice(ns, func(i, j int) bool { return strings.ToLower(ns[i].DisplayName) < strings.ToLower(ns[j].DisplayName) })
		for _, n := range ns {
			sortNodes(n.Groups)
		}
	}
	sortNodes(data.Roots)
	p.render(w, r, 0, "environment", &View{Title: "Environment settings", Nav: "environment", Data: data})
	return nil
}
