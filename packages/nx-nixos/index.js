'use strict';
module.exports = require('./load').loadModule('index');
