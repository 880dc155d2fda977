"""core.routes: a module's routes reach a blueprint only when its plugin attaches them."""

from flask import Blueprint, Flask

from core.routes import Routes, attach


def test_routes_are_registered_only_when_attached_and_keep_their_endpoint_names():
    public, staff = Routes(), Routes()

    @public.get("/courses/<int:offering_id>")
    def show_offering(offering_id):
        return f"course {offering_id}"

    @staff.route("/staff/courses", methods=["GET", "POST"])
    def list_courses():
        return "list"

    seen = []

    @staff.after_request
    def remember(response):
        seen.append(response.status_code)
        return response

    bp = Blueprint("plugin", __name__)
    assert not bp.deferred_functions
    app = Flask(__name__)
    app.register_blueprint(attach(bp, public, staff))
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    assert rules["plugin.show_offering"].rule == "/courses/<int:offering_id>"
    assert rules["plugin.list_courses"].methods >= {"GET", "POST"}
    assert public.views == [show_offering]

    client = app.test_client()
    assert client.get("/courses/7").text == "course 7"
    assert client.post("/staff/courses").text == "list"
    assert client.post("/courses/7").status_code == 405
    assert seen == [200, 200]  # a 405 matched no endpoint of the blueprint
