"""Multinomial logistic regression in which each row competes only among the labels its source uses.

A public set without a label (CAMEO and UN QuadClass have no `economic` stance) says nothing about it: its
economic-looking rows, coded neutral or cooperative there, are not evidence that such text is not `economic`.
So each row's softmax runs over the labels its source can give (`allowed`, a row-by-class mask); a label outside
the mask gets no gradient from that row. With every label allowed this is scikit-learn's own multinomial
objective (mean weighted log-loss plus an L2 penalty of 1 / (2 C) per unit of weight, intercept unpenalized),
solved with the same L-BFGS, so the fitted model is an ordinary `LogisticRegression` for everything downstream.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import logsumexp, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_class_weight


def fit_masked(
    X: Any, codes: np.ndarray, weights: np.ndarray, allowed: np.ndarray, C: float, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients, intercepts) minimizing scikit-learn's multinomial objective with each row's softmax
    restricted to its `allowed` classes; `codes` are the rows' class indices, `weights` their sample weights."""
    n, k, d = X.shape[0], allowed.shape[1], X.shape[1]
    if allowed.shape[0] != n or not allowed[np.arange(n), codes].all():
        raise ValueError("`allowed` must have one row per sample and allow each sample's own label")
    total = weights.sum()
    weights = weights / total  # scikit-learn's mean loss; its penalty is then 1 / (C * total weight)
    penalty = 1.0 / (C * total)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), codes] = 1.0
    blocked = np.where(allowed, 0.0, -np.inf)

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = flat[: k * d].reshape(k, d), flat[k * d :]
        logits = X @ coef.T + intercept + blocked
        loss = float(weights @ (logsumexp(logits, axis=1) - logits[np.arange(n), codes]))
        residual = (softmax(logits, axis=1) - onehot) * weights[:, None]
        gradient = np.asarray(X.T @ residual).T + penalty * coef
        loss += 0.5 * penalty * float(np.sum(coef * coef))
        return loss, np.concatenate([gradient.ravel(), residual.sum(axis=0)])

    result = optimize.minimize(
        loss_and_gradient,
        np.zeros(k * d + k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
    )
    return result.x[: k * d].reshape(k, d), result.x[k * d :]


class MaskedLogisticRegression(LogisticRegression):
    """`fit(X, y, sample_weight, allowed=mask)`: `allowed[i, k]` says whether row i's source can give class k
    (classes in sorted order, as `classes_`). Without a mask, or with one allowing everything, it is plain
    scikit-learn."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None, allowed: np.ndarray | None = None) -> Any:
        if allowed is None or bool(np.all(allowed)):
            return super().fit(X, y, sample_weight=sample_weight)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if self.class_weight is not None:
            weights = weights * compute_class_weight(self.class_weight, classes=self.classes_, y=np.asarray(y))[codes]
        self.coef_, self.intercept_ = fit_masked(X, codes, weights, allowed, self.C, self.max_iter, self.tol)
        self.n_features_in_ = X.shape[1]
        return self
