// Boost.URL's compiled part, built into this library so that nothing else
// has to link libboost_url.
#include <boost/url/src.hpp>
